import { ReferenceKind, type EntityClass, type EntityMetadata } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

type Row = Record<string, unknown>;
type Mapper<T> = (row: Row) => T;

const mappers = new WeakMap<EntityMetadata, Mapper<unknown>>();

/**
 * Reads rows (database column names) as plain objects shaped like the entity: properties by name,
 * many-to-one references as `{ id }`, bigint columns as numbers, timestamps as Dates. For read paths only — what GraphQL
 * resolvers read, without the unit of work's bookkeeping and hydration, which cost most of a list's
 * time. Nothing read this way can be changed and flushed: writes load entities.
 */
export function plainRows<T extends object>(em: EntityManager, entity: EntityClass<T>, rows: Row[]): T[] {
  const meta = em.getMetadata().get<T>(entity.name);
  let mapper = mappers.get(meta) as Mapper<T> | undefined;
  if (!mapper) {
    mapper = buildMapper<T>(meta);
    mappers.set(meta, mapper);
  }
  return rows.map(mapper);
}

function converterFor(columnType: unknown, runtimeType: unknown): ((value: unknown) => unknown) | undefined {
  const type = String(columnType);
  if (/bigint/i.test(type)) return Number;
  // MikroORM has pg hand timestamps over as text (it parses them itself); JSON carries them as text too.
  if (/timestamp|date/i.test(type) || runtimeType === 'Date') {
    return (value) => (value instanceof Date ? value : new Date(String(value)));
  }
  return undefined;
}

function buildMapper<T>(meta: EntityMetadata<T>): Mapper<T> {
  const steps: ((row: Row, into: Row) => void)[] = [];
  for (const prop of meta.props) {
    if (prop.persist === false || !prop.fieldNames?.length) continue;
    const column = prop.fieldNames[0]!;
    const name = prop.name as string;
    if (prop.kind === ReferenceKind.MANY_TO_ONE || prop.kind === ReferenceKind.ONE_TO_ONE) {
      steps.push((row, into) => {
        const id = row[column];
        into[name] = id === null || id === undefined ? null : { id };
      });
    } else if (prop.kind === ReferenceKind.SCALAR && prop.embedded) {
      // A column of an embeddable (`stats_turns` → `stats.turns`).
      const [parent, child] = prop.embedded;
      const convert = converterFor(prop.columnTypes?.[0] ?? prop.type, prop.runtimeType);
      steps.push((row, into) => {
        const value = row[column];
        const target = (into[parent] ??= {}) as Row;
        target[child] = convert && value !== null && value !== undefined ? convert(value) : value;
      });
    } else if (prop.kind === ReferenceKind.SCALAR) {
      const convert = converterFor(prop.columnTypes?.[0] ?? prop.type, prop.runtimeType);
      steps.push(
        convert
          ? (row, into) => {
              const value = row[column];
              into[name] = value === null || value === undefined ? value : convert(value);
            }
          : (row, into) => {
              into[name] = row[column];
            },
      );
    }
  }
  return (row) => {
    const into: Row = {};
    for (const step of steps) step(row, into);
    return into as T;
  };
}
