import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { PageInfo, type Page } from './pagination.js';

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  /** Counting is a second query, so it runs only when `totalCount` is selected. */
  count: () => Promise<number>;
}

/** Relay-style `<Name>Connection` and `<Name>Edge` types for a node type. */
export function connectionType<T extends object>(Node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`, { description: `One ${name} in a page, with its cursor.` })
  class Edge {
    @Field(() => String, { description: 'Pass as `after` to continue after this item.' })
    cursor!: string;

    @Field(() => Node, { description: `The ${name}.` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${name} items.` })
  class Connection implements ConnectionShape<T> {
    @Field(() => [Edge], { description: 'The items with their cursors.' })
    edges!: Edge[];

    @Field(() => [Node], { description: 'The items, without cursors.' })
    nodes!: T[];

    @Field(() => PageInfo, { description: 'Whether there is more, and where to continue.' })
    pageInfo!: PageInfo;

    count!: () => Promise<number>;

    @Field(() => Int, { description: 'How many items match the filter in all pages (costs a count query).' })
    totalCount(): Promise<number> {
      return this.count();
    }
  }

  return Connection;
}

export function toConnection<T extends object, C extends ConnectionShape<T>>(
  Connection: ClassType<C>,
  page: Page<T>,
  cursorOf: (item: T) => string,
  count: () => Promise<number>,
): C {
  const connection = new Connection();
  connection.edges = page.items.map((node) => ({ cursor: cursorOf(node), node }));
  connection.nodes = page.items;
  const last = connection.edges.at(-1);
  connection.pageInfo = { hasNextPage: page.hasNextPage, endCursor: last ? last.cursor : null };
  connection.count = count;
  return connection;
}
