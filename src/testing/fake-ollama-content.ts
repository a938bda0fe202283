// Deterministic reply content for the fake Ollama server: the same input always yields the same tokens,
// so tests can assert on exact text and on "no duplicated text after a retry".
import { createHash } from 'node:crypto';

/** A JSON schema, as much of it as the fake reads. */
export type JsonSchema = { [key: string]: unknown };

type Random = () => number;

// prettier-ignore
const WORDS = [
  'the', 'agents', 'consider', 'evidence', 'carefully', 'and', 'a', 'position', 'emerges', 'from',
  'debate', 'while', 'each', 'round', 'brings', 'new', 'arguments', 'that', 'weigh', 'costs',
  'against', 'benefits', 'so', 'consensus', 'grows', 'slowly', 'as', 'claims', 'are', 'tested',
  'by', 'counterexamples', 'under', 'clear', 'assumptions', 'with', 'data', 'compression', 'ratios',
  'matter', 'more', 'than', 'speed', 'when', 'storage', 'is', 'scarce', 'but', 'latency', 'wins',
  'for', 'interactive', 'systems', 'because', 'users', 'notice', 'delays', 'quickly', 'therefore',
  'we', 'should', 'measure', 'before', 'deciding',
];

/** A 32-bit seed from any strings (sha256, first four bytes). */
export function seedOf(...parts: string[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);
}

/** mulberry32: small, fast, and reproducible from a 32-bit seed. */
export function randomFrom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function words(random: Random, count: number): string[] {
  return Array.from({ length: count }, () => pick(random, WORDS));
}

/** A sentence of exactly `tokenCount` tokens (words, each after the first with its leading space). */
export function sentenceTokens(seed: number, tokenCount: number): string[] {
  const chosen = words(randomFrom(seed), Math.max(0, tokenCount));
  return chosen.map((word, i) => {
    const text = i === 0 ? word[0]!.toUpperCase() + word.slice(1) : ` ${word}`;
    return i === chosen.length - 1 ? `${text}.` : text;
  });
}

/** Splits free text into word tokens whose concatenation is exactly the text. */
export function textTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/**
 * Splits JSON text into tokens the way a model emits it: punctuation, keys and values, with long strings
 * broken after spaces. The concatenation is exactly the text.
 */
export function jsonTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const piece of text.match(/"(?:[^"\\]|\\.)*"|[{}[\],:]|\s+|[^{}[\],:\s"]+/g) ?? []) {
    if (piece.startsWith('"') && piece.includes(' ')) tokens.push(...piece.split(/(?<= )/));
    else tokens.push(piece);
  }
  return tokens;
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) return {};
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return (node as JsonSchema | undefined) ?? {};
}

function typeOf(schema: JsonSchema): string | undefined {
  const type = schema.type;
  if (Array.isArray(type)) return (type as string[]).find((t) => t !== 'null') ?? 'null';
  if (typeof type === 'string') return type;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

function numberIn(random: Random, schema: JsonSchema, integer: boolean): number {
  const lowInclusive = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const highInclusive = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  const lowExclusive = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const highExclusive = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  const step = integer ? 1 : 0.01;
  let low = lowInclusive ?? (lowExclusive !== undefined ? lowExclusive + step : undefined);
  let high = highInclusive ?? (highExclusive !== undefined ? highExclusive - step : undefined);
  if (low === undefined && high === undefined) [low, high] = integer ? [0, 100] : [0, 1];
  else if (low === undefined) low = high! - (integer ? 100 : 1);
  else if (high === undefined) high = low + (integer ? 100 : 1);
  if (integer) {
    const min = Math.ceil(low!);
    const max = Math.floor(high!);
    return max < min ? min : min + Math.floor(random() * (max - min + 1));
  }
  const value = Math.round((low! + random() * (high! - low!)) * 100) / 100;
  return Math.min(high!, Math.max(low!, value));
}

function stringFor(random: Random, schema: JsonSchema): string {
  switch (schema.format) {
    case 'date-time':
      return '2025-01-01T00:00:00Z';
    case 'date':
      return '2025-01-01';
    case 'email':
      return `${pick(random, WORDS)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${pick(random, WORDS)}`;
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000'.replace(/0/g, () =>
        Math.floor(random() * 16).toString(16),
      );
  }
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  let text = words(random, 3 + Math.floor(random() * 6)).join(' ');
  while (text.length < minLength) text += ` ${pick(random, WORDS)}`;
  return text.length > maxLength ? text.slice(0, maxLength).trimEnd().padEnd(minLength, 'x') : text;
}

/** A value that conforms to `schema` (types, enum, const, required, bounds, local $refs). */
export function valueForSchema(
  schema: JsonSchema,
  random: Random,
  root: JsonSchema = schema,
  depth = 0,
): unknown {
  if (depth > 8) return null;
  if (typeof schema.$ref === 'string')
    return valueForSchema(resolveRef(root, schema.$ref), random, root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(random, schema.enum);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const usable = (options as JsonSchema[]).find((option) => typeOf(option) !== 'null') ?? options[0];
      return valueForSchema(usable as JsonSchema, random, root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    const merged = (schema.allOf as JsonSchema[]).reduce<JsonSchema>(
      (all, part) => ({
        ...all,
        ...part,
        properties: { ...(all.properties as object), ...(part.properties as object) },
        required: [...((all.required as string[]) ?? []), ...((part.required as string[]) ?? [])],
      }),
      {},
    );
    return valueForSchema(merged, random, root, depth + 1);
  }
  switch (typeOf(schema)) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const value: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(properties)) {
        value[name] = valueForSchema(property, random, root, depth + 1);
      }
      for (const name of (schema.required as string[] | undefined) ?? []) {
        if (!(name in value)) value[name] = pick(random, WORDS);
      }
      return value;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 3);
      const count = Math.min(max, Math.max(min, 2));
      const items = (schema.items ?? {}) as JsonSchema;
      return Array.from({ length: count }, () => valueForSchema(items, random, root, depth + 1));
    }
    case 'string':
      return stringFor(random, schema);
    case 'integer':
      return numberIn(random, schema, true);
    case 'number':
      return numberIn(random, schema, false);
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default:
      return stringFor(random, schema);
  }
}

/** The reply for `format: "json"`: a small object, like a model asked for JSON without a schema. */
export function plainJsonValue(seed: number): Record<string, unknown> {
  const random = randomFrom(seed);
  return { answer: sentenceTokens(seed, 6).join(''), confidence: Math.round(random() * 100) / 100 };
}

/** Rough token count of a prompt: its words, at least one. */
export function promptTokenCount(texts: string[]): number {
  return Math.max(
    1,
    texts.reduce((sum, text) => sum + (text.match(/\S+/g)?.length ?? 0), 0),
  );
}
