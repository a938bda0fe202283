import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  getNullableType,
  isListType,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  isObjectType,
  isInterfaceType,
  type GraphQLCompositeType,
  valueFromASTUntyped,
} from 'graphql';
import { DomainError, ErrorCode, ValidationError } from '../common/errors.js';

/**
 * Limits every GraphQL document must stay within, over HTTP and graphql-ws alike (OWASP GraphQL cheat
 * sheet; graphql-armor's protections). All are decided before anything executes:
 * - characters and tokens: before parsing (a huge document costs nothing but the check);
 * - depth, aliases and directives: validation rules (cached with the validated document);
 * - cost: when the operation and its variables are known (page sizes may be variables).
 */
export interface DocumentLimits {
  maxCharacters: number;
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
  /** The assumed length of a list field that takes no page size (a debate's turns, say). */
  defaultListSize: number;
  /** Operations per HTTP request; 1 turns batching off. */
  maxBatch: number;
}

export type DocumentLimitName = Exclude<keyof DocumentLimits, 'defaultListSize'>;

/** A document over one of the limits: BAD_USER_INPUT, naming the limit, its value and what was sent. */
export class DocumentLimitError extends DomainError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(limit: DocumentLimitName, max: number, actual: number, what: string) {
    super(`Document exceeds the ${limit} limit: ${what} ${actual} > ${max}`, { limit, max, actual });
  }
}

/** As a GraphQLError, for validation rules (Apollo keeps `originalError`; the formatter reads it). */
function limitError(error: DocumentLimitError, nodes?: readonly OperationDefinitionNode[]): GraphQLError {
  return new GraphQLError(error.message, { nodes, originalError: error });
}

/**
 * Characters, then tokens, of a document's source text, without building an AST. A document no longer
 * than the token limit cannot exceed it (every token is at least one character), so short documents
 * skip the lexer.
 */
export function checkSource(query: string, limits: DocumentLimits): void {
  if (query.length > limits.maxCharacters) {
    throw new DocumentLimitError('maxCharacters', limits.maxCharacters, query.length, 'characters');
  }
  if (query.length <= limits.maxTokens) return;
  const lexer = new Lexer(new Source(query));
  let tokens = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++tokens > limits.maxTokens) {
        throw new DocumentLimitError('maxTokens', limits.maxTokens, tokens, 'tokens (at least)');
      }
    }
  } catch (error) {
    if (error instanceof DocumentLimitError) throw error;
    // A syntax error: the parser reports it properly.
  }
}

/** The standard introspection query (graphql-js's, every option on) is 15 fields deep. */
const INTROSPECTION_DEPTH = 15;

interface Shape {
  /** Depth outside introspection (`__schema`/`__type` subtrees not counted). */
  depth: number;
  /** Depth counting every field: introspection gets its own allowance, not none. */
  fullDepth: number;
  aliases: number;
}

const EMPTY: Shape = { depth: 0, fullDepth: 0, aliases: 0 };

/**
 * Depth and aliases of each operation with its fragments expanded (a fragment spread counts as its
 * contents), memoised per fragment so fragment bombs cost linear time. Cycles are another rule's error:
 * a fragment met again while being measured counts as empty.
 */
function measure(
  selectionSet: SelectionSetNode,
  fragments: (name: string) => FragmentDefinitionNode | undefined,
  memo: Map<string, Shape | 'visiting'>,
): Shape {
  let depth = 0;
  let fullDepth = 0;
  let aliases = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) aliases++;
      const inner = selection.selectionSet ? measure(selection.selectionSet, fragments, memo) : EMPTY;
      aliases += inner.aliases;
      fullDepth = Math.max(fullDepth, inner.fullDepth + 1);
      if (!selection.name.value.startsWith('__')) depth = Math.max(depth, inner.depth + 1);
    } else {
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT
          ? measure(selection.selectionSet, fragments, memo)
          : measureFragment(selection.name.value, fragments, memo);
      depth = Math.max(depth, inner.depth);
      fullDepth = Math.max(fullDepth, inner.fullDepth);
      aliases += inner.aliases;
    }
  }
  return { depth, fullDepth, aliases };
}

function measureFragment(
  name: string,
  fragments: (name: string) => FragmentDefinitionNode | undefined,
  memo: Map<string, Shape | 'visiting'>,
): Shape {
  const known = memo.get(name);
  if (known === 'visiting') return EMPTY;
  if (known) return known;
  const fragment = fragments(name);
  if (!fragment) return EMPTY;
  memo.set(name, 'visiting');
  const shape = measure(fragment.selectionSet, fragments, memo);
  memo.set(name, shape);
  return shape;
}

/** Validation rules for depth, aliases and directives (as graphql-js rules, for Apollo and graphql-ws). */
export function documentLimitRules(limits: DocumentLimits) {
  const shapeRule = (context: ValidationContext): ASTVisitor => {
    const memo = new Map<string, Shape | 'visiting'>();
    const fragments = (name: string) => context.getFragment(name) ?? undefined;
    return {
      OperationDefinition(operation) {
        const { depth, fullDepth, aliases } = measure(operation.selectionSet, fragments, memo);
        const introspectionDepth = Math.max(limits.maxDepth, INTROSPECTION_DEPTH);
        if (depth > limits.maxDepth) {
          context.reportError(
            limitError(new DocumentLimitError('maxDepth', limits.maxDepth, depth, 'depth'), [operation]),
          );
        } else if (fullDepth > introspectionDepth) {
          context.reportError(
            limitError(
              new DocumentLimitError('maxDepth', introspectionDepth, fullDepth, 'depth (with introspection)'),
              [operation],
            ),
          );
        }
        if (aliases > limits.maxAliases) {
          context.reportError(
            limitError(new DocumentLimitError('maxAliases', limits.maxAliases, aliases, 'aliases'), [
              operation,
            ]),
          );
        }
        return false; // nothing below needs visiting again
      },
    };
  };
  const directivesRule = (context: ValidationContext): ASTVisitor => {
    let directives = 0;
    return {
      Directive() {
        directives++;
      },
      Document: {
        leave() {
          if (directives > limits.maxDirectives) {
            context.reportError(
              limitError(
                new DocumentLimitError('maxDirectives', limits.maxDirectives, directives, 'directives'),
              ),
            );
          }
        },
      },
    };
  };
  // Directives first: the shape rule stops visiting at each operation.
  return [directivesRule, shapeRule];
}

const sizeArguments = ['first', 'last', 'limit'];

/**
 * The cost of one operation: every field costs 1, and a list multiplies what is inside it by its
 * length — the page size asked for (`first`/`last`/`limit`, literal or variable), or `defaultListSize`
 * for lists without one. A paged field's own `edges`/`nodes` list is the page itself and is not counted
 * twice. Fragments are expanded; each is costed once per operation.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: DocumentLimits,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, number | 'visiting'>();
  const rootType =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!rootType) return 0;

  // Variables as the executor will see them: given values over the operation's own defaults.
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) {
      values[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  Object.assign(values, variables);

  /** The page size a field is asked for: its argument (literal or variable), else the schema's default. */
  const pageSize = (
    selection: FieldNode,
    field: GraphQLField<unknown, unknown> | undefined,
  ): number | undefined => {
    for (const name of sizeArguments) {
      const argument = selection.arguments?.find((each) => each.name.value === name);
      const value = argument
        ? valueFromASTUntyped(argument.value, values)
        : field?.args.find((each) => each.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, value);
    }
    return undefined;
  };

  const costOf = (
    selectionSet: SelectionSetNode,
    parentType: GraphQLCompositeType | undefined,
    insidePage: boolean,
  ): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        const field: GraphQLField<unknown, unknown> | undefined =
          parentType && (isObjectType(parentType) || isInterfaceType(parentType))
            ? parentType.getFields()[name]
            : undefined;
        const type = field ? getNullableType(field.type) : undefined;
        const asked = pageSize(selection, field);
        let multiplier = 1;
        if (asked !== undefined) multiplier = asked;
        else if (type && isListType(type) && !insidePage) multiplier = limits.defaultListSize;
        const childType = type ? (getNamedType(type) as GraphQLCompositeType) : undefined;
        const inner = selection.selectionSet
          ? costOf(selection.selectionSet, childType, asked !== undefined)
          : 0;
        total += 1 + multiplier * inner;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined)
          : parentType;
        total += costOf(selection.selectionSet, type, insidePage);
      } else {
        const key = `${selection.name.value}:${insidePage}`;
        const known = memo.get(key);
        if (known === 'visiting') continue;
        if (known !== undefined) {
          total += known;
          continue;
        }
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        memo.set(key, 'visiting');
        const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined;
        const cost = costOf(fragment.selectionSet, type, insidePage);
        memo.set(key, cost);
        total += cost;
      }
    }
    return total;
  };
  return costOf(operation.selectionSet, rootType, false);
}

/** Throws a DocumentLimitError when the operation costs more than the limit. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: DocumentLimits,
): void {
  const cost = operationCost(schema, document, operation, variables, limits);
  if (cost > limits.maxCost) throw new DocumentLimitError('maxCost', limits.maxCost, cost, 'cost');
}

/**
 * PostgreSQL text cannot hold NUL characters; one in a string would fail deep in a statement. Refused at
 * the door instead: in the document (raw or as a `\u0000` escape) and anywhere in the variables.
 */
export function checkNoNulCharacters(query: string, variables: unknown): void {
  if (query.includes('\u0000') || /\\u0000/i.test(query)) {
    throw new ValidationError([{ field: 'query', message: 'must not contain NUL characters (U+0000)' }]);
  }
  const path = findNul(variables, 'variables', 0);
  if (path) throw new ValidationError([{ field: path, message: 'must not contain NUL characters (U+0000)' }]);
}

function findNul(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path;
    const found = findNul(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
