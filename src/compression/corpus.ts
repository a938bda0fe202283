import os from 'node:os';
import { jsonUnit, logUnit, MAX_UNIT_BYTES, textUnit, type UnitWriter } from './corpus-units.js';
import { Writer } from './corpus-writer.js';
import { Prng, seedState } from './prng.js';

export const CORPUS_KINDS = ['TEXT', 'JSON', 'LOGS', 'RANDOM'] as const;
export type CorpusKind = (typeof CORPUS_KINDS)[number];

/** A built-in input: the same spec gives the same bytes on every machine. */
export interface CorpusSpec {
  kind: CorpusKind;
  sizeBytes: number;
  seed: number;
}

export interface GenerateCorpusOptions {
  /** Called about every 8 MiB and once at the end. */
  onProgress?: (bytesDone: number, totalBytes: number) => void;
}

const PROGRESS_EVERY = 8 * 1024 * 1024;
const LITTLE_ENDIAN = os.endianness() === 'LE';
const JSON_OPEN = Buffer.from('[\n');
const JSON_CLOSE = Buffer.from('\n]\n');

/**
 * A deterministic corpus of `sizeBytes` bytes. TEXT is prose (Zipf-distributed words in sentences and
 * paragraphs), JSON a valid JSON array of user records, LOGS timestamped service log lines with levels and
 * request ids, RANDOM incompressible bytes. It is written straight into one buffer (no intermediate
 * strings), and the buffer owns its whole ArrayBuffer so it can be transferred to another thread.
 */
export function generateCorpus(
  kind: CorpusKind,
  sizeBytes: number,
  seed: number,
  options: GenerateCorpusOptions = {},
): Buffer {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new RangeError(`sizeBytes must be a non-negative integer, got ${sizeBytes}`);
  }
  const stream = CORPUS_KINDS.indexOf(kind);
  if (stream < 0) throw new TypeError(`Unknown corpus kind: ${String(kind)}`);
  const prng = new Prng(seedState(seed, stream));
  const out = Buffer.from(new ArrayBuffer(sizeBytes));
  const progress = new Progress(sizeBytes, options.onProgress);

  switch (kind) {
    case 'RANDOM':
      fillRandom(out, prng, progress);
      break;
    case 'TEXT':
      fillUnits(out, 0, sizeBytes, textUnit(prng), progress, true);
      break;
    case 'LOGS':
      fillUnits(out, 0, sizeBytes, logUnit(prng), progress, true);
      break;
    case 'JSON':
      fillJson(out, prng, progress);
      break;
  }
  progress.done();
  return out;
}

class Progress {
  private next = PROGRESS_EVERY;

  constructor(
    private readonly total: number,
    private readonly report?: (bytesDone: number, totalBytes: number) => void,
  ) {}

  at(bytesDone: number): void {
    if (bytesDone >= this.next && this.report) {
      this.next = bytesDone + PROGRESS_EVERY;
      this.report(bytesDone, this.total);
    }
  }

  done(): void {
    this.report?.(this.total, this.total);
  }
}

function fillRandom(out: Buffer, prng: Prng, progress: Progress): void {
  const words = out.byteLength >>> 2;
  const chunk = 1 << 20;
  if (LITTLE_ENDIAN) {
    const u32 = new Uint32Array(out.buffer, out.byteOffset, words);
    for (let from = 0; from < words; from += chunk) {
      const to = Math.min(words, from + chunk);
      for (let i = from; i < to; i++) u32[i] = prng.next();
      progress.at(to * 4);
    }
  } else {
    for (let i = 0; i < words; i++) out.writeUInt32LE(prng.next(), i * 4);
  }
  let tail = prng.next();
  for (let i = words * 4; i < out.byteLength; i++, tail >>>= 8) out[i] = tail & 0xff;
}

/**
 * Writes whole units while one surely fits, then renders the last ones aside and copies what fits:
 * truncated when `truncate`, else stopping before the first that does not fit. Returns the end position.
 */
function fillUnits(
  out: Uint8Array,
  from: number,
  to: number,
  unit: UnitWriter,
  progress: Progress,
  truncate: boolean,
): number {
  const w = new Writer(out, from);
  while (w.pos + MAX_UNIT_BYTES <= to) {
    unit(w);
    progress.at(w.pos);
  }
  const scratch = new Writer(new Uint8Array(MAX_UNIT_BYTES), 0);
  let pos = w.pos;
  while (pos < to) {
    scratch.pos = 0;
    unit(scratch);
    if (scratch.pos > to - pos && !truncate) break;
    const n = Math.min(scratch.pos, to - pos);
    out.set(scratch.buf.subarray(0, n), pos);
    pos += n;
  }
  return pos;
}

/** A JSON array of records, still valid at any size of 2 bytes or more: the end is padded with spaces. */
function fillJson(out: Buffer, prng: Prng, progress: Progress): void {
  const size = out.byteLength;
  if (size < JSON_OPEN.length + JSON_CLOSE.length) {
    out.fill(0x20);
    if (size >= 2) {
      out[0] = 0x5b;
      out[size - 1] = 0x5d;
    }
    return;
  }
  out.set(JSON_OPEN, 0);
  const end = size - JSON_CLOSE.length;
  const pos = fillUnits(out, JSON_OPEN.length, end, jsonUnit(prng), progress, false);
  out.fill(0x20, pos, end);
  out.set(JSON_CLOSE, end);
}
