/**
 * The structured answers the debate asks models for: a seat's turn, the moderator's decision to
 * conclude, and the final summary. Each has a JSON Schema (passed as Ollama's `format`, which constrains
 * generation) and a strict parser, because a model may still ignore the schema (older Ollama, a model
 * without grammar support, or a fake): the parser's problem text goes back to the model in a repair
 * prompt, so it names what is wrong in plain words.
 */

export const POSITION_MAX_LENGTH = 200;

export const TURN_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    argument: { type: 'string', minLength: 1 },
    position: { type: 'string', minLength: 1, maxLength: POSITION_MAX_LENGTH },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['argument', 'position', 'confidence'],
};

export const MODERATOR_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    conclude: { type: 'boolean' },
    reason: { type: 'string', minLength: 1 },
  },
  required: ['conclude', 'reason'],
};

export const SUMMARY_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    summary: { type: 'string', minLength: 1 },
    verdict: { type: 'string', minLength: 1, maxLength: POSITION_MAX_LENGTH },
  },
  required: ['summary', 'verdict'],
};

export interface TurnOutput {
  argument: string;
  position: string;
  confidence: number;
}

export type ParsedTurn = { ok: true; value: TurnOutput } | { ok: false; problem: string };

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const FENCED = /^```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)\r?\n?```$/;

/** The JSON object in a model's reply: the whole reply, or a single ``` fenced block that is the whole reply. */
function parseObject(text: string): Parsed<Record<string, unknown>> {
  let body = text.trim();
  const fenced = FENCED.exec(body);
  if (fenced) body = fenced[1]!.trim();
  if (body === '') return { ok: false, problem: 'the reply is empty; expected a JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, problem: `expected a JSON object, got ${kind}` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Characters as JSON Schema counts them (code points, not UTF-16 units). */
const lengthOf = (text: string) => [...text].length;

function readText(
  object: Record<string, unknown>,
  field: string,
  problems: string[],
  maxLength?: number,
): string | undefined {
  const value = object[field];
  if (value === undefined || value === null) {
    problems.push(`${field} is missing`);
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.push(`${field} must be a string`);
    return undefined;
  }
  const text = value.trim();
  if (text === '') {
    problems.push(`${field} is empty`);
    return undefined;
  }
  if (maxLength !== undefined && lengthOf(text) > maxLength) {
    problems.push(`${field} is longer than ${maxLength} characters; keep it to a few words`);
    return undefined;
  }
  return text;
}

function readConfidence(object: Record<string, unknown>, problems: string[]): number | undefined {
  const value = object.confidence;
  if (value === undefined || value === null) {
    problems.push('confidence is missing');
    return undefined;
  }
  // Strict on purpose: "0.8" is a string and 80 is a percentage, and guessing would hide a confused model.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    problems.push(`confidence must be a number between 0 and 1 (got ${JSON.stringify(value)})`);
    return undefined;
  }
  return value;
}

const result = <T>(problems: string[], value: () => T): Parsed<T> =>
  problems.length > 0 ? { ok: false, problem: problems.join('; ') } : { ok: true, value: value() };

export function parseTurnOutput(text: string): ParsedTurn {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const problems: string[] = [];
  const argument = readText(parsed.value, 'argument', problems);
  const position = readText(parsed.value, 'position', problems, POSITION_MAX_LENGTH);
  const confidence = readConfidence(parsed.value, problems);
  return result(problems, () => ({ argument: argument!, position: position!, confidence: confidence! }));
}

export function parseModeratorDecision(
  text: string,
): { ok: true; value: { conclude: boolean; reason: string } } | { ok: false; problem: string } {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const problems: string[] = [];
  const conclude = parsed.value.conclude;
  if (conclude === undefined || conclude === null) problems.push('conclude is missing');
  else if (typeof conclude !== 'boolean') problems.push('conclude must be true or false');
  const reason = readText(parsed.value, 'reason', problems);
  return result(problems, () => ({ conclude: conclude as boolean, reason: reason! }));
}

export function parseSummary(
  text: string,
): { ok: true; value: { summary: string; verdict: string } } | { ok: false; problem: string } {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const problems: string[] = [];
  const summary = readText(parsed.value, 'summary', problems);
  const verdict = readText(parsed.value, 'verdict', problems, POSITION_MAX_LENGTH);
  return result(problems, () => ({ summary: summary!, verdict: verdict! }));
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Streams the decoded value of the top-level "argument" string out of partial JSON as it grows.
 *
 * A small JSON lexer that only tracks what it needs: container nesting, whether a string is an object
 * key, the last top-level key, and escapes cut by a chunk boundary. Strings inside other values
 * (including one that reads "argument") are skipped. A high surrogate at the end of a push is held back
 * until its pair arrives, so no push returns half a character. Text before the first `{` (say, a code
 * fence) is ignored, and so is anything after the top-level object closes. If "argument" appears twice,
 * the first one is streamed (JSON.parse would keep the last).
 */
export class ArgumentExtractor {
  private stack: ('object' | 'array')[] = [];
  private expectKey = false;
  private finished = false;
  private inString = false;
  private role: 'key' | 'argument' | 'other' = 'other';
  /** null outside an escape; '' right after a backslash; 'u…' while reading \uXXXX. */
  private escape: string | null = null;
  private key = '';
  private lastKey: string | null = null;
  private streamed = false;
  private heldBack = '';

  push(chunk: string): string {
    let out = this.heldBack;
    this.heldBack = '';
    let i = 0;
    while (i < chunk.length && !this.finished) {
      if (!this.inString) {
        this.structural(chunk[i]!);
        i += 1;
        continue;
      }
      if (this.escape === null) {
        // Copy the run of plain characters up to the next quote or backslash in one go.
        let end = i;
        while (end < chunk.length && chunk[end] !== '"' && chunk[end] !== '\\') end += 1;
        if (end > i) out += this.take(chunk.slice(i, end));
        if (end === chunk.length) break;
        if (chunk[end] === '\\') this.escape = '';
        else out += this.closeString();
        i = end + 1;
        continue;
      }
      out += this.take(this.escaped(chunk[i]!));
      i += 1;
    }
    if (this.inString && this.role === 'argument' && out.length > 0) {
      if (isHighSurrogate(out.charCodeAt(out.length - 1))) {
        this.heldBack = out.slice(-1);
        out = out.slice(0, -1);
      }
    }
    return out;
  }

  reset(): void {
    this.stack = [];
    this.expectKey = false;
    this.finished = false;
    this.inString = false;
    this.role = 'other';
    this.escape = null;
    this.key = '';
    this.lastKey = null;
    this.streamed = false;
    this.heldBack = '';
  }

  private structural(char: string): void {
    const top = this.stack.at(-1);
    switch (char) {
      case '{':
        this.stack.push('object');
        this.expectKey = true;
        break;
      case '[':
        this.stack.push('array');
        this.expectKey = false;
        break;
      case '}':
      case ']':
        if (top === undefined) break;
        this.stack.pop();
        this.expectKey = false;
        if (this.stack.length === 0) this.finished = true;
        break;
      case ',':
        this.expectKey = top === 'object';
        break;
      case ':':
        this.expectKey = false;
        break;
      case '"': {
        if (top === undefined) break;
        this.inString = true;
        const topLevel = this.stack.length === 1 && top === 'object';
        if (topLevel && this.expectKey) {
          this.role = 'key';
          this.key = '';
        } else if (topLevel && this.lastKey === 'argument' && !this.streamed) {
          this.role = 'argument';
        } else {
          this.role = 'other';
        }
        break;
      }
    }
  }

  /** Decodes one character of an escape sequence; returns the text it completes ('' while incomplete). */
  private escaped(char: string): string {
    if (this.escape === '') {
      if (char === 'u') {
        this.escape = 'u';
        return '';
      }
      this.escape = null;
      return SIMPLE_ESCAPES[char] ?? char;
    }
    this.escape += char;
    if (this.escape!.length < 5) return '';
    const code = Number.parseInt(this.escape!.slice(1), 16);
    this.escape = null;
    return Number.isNaN(code) ? '' : String.fromCharCode(code);
  }

  /** Routes decoded string text: into the key being read, out as argument text, or nowhere. */
  private take(text: string): string {
    if (this.role === 'key') this.key += text;
    return this.role === 'argument' ? text : '';
  }

  private closeString(): string {
    this.inString = false;
    if (this.role === 'key') this.lastKey = this.key;
    if (this.role === 'argument') this.streamed = true;
    this.role = 'other';
    return '';
  }
}
