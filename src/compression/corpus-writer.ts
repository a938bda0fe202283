import { getVocabulary, type Vocabulary } from './corpus-vocabulary.js';
import type { Prng } from './prng.js';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DAY_MS = 86_400_000;

/** Appends bytes to a buffer. Callers make sure there is room (see MAX_UNIT_BYTES in corpus.ts). */
export class Writer {
  constructor(
    public buf: Uint8Array,
    public pos: number,
  ) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A manual loop: faster than `set` for the short pieces a corpus is made of. */
  bytes(src: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < src.length; i++) buf[pos++] = src[i]!;
    this.pos = pos;
  }

  uint(n: number): void {
    const buf = this.buf;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let pos = this.pos + digits;
    this.pos = pos;
    do {
      buf[--pos] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** `n` with leading zeros to `width` digits. */
  padded(n: number, width: number): void {
    const buf = this.buf;
    let pos = this.pos + width;
    this.pos = pos;
    for (let i = 0; i < width; i++) {
      buf[--pos] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
  }

  /** `digits` lowercase hex characters of a 32-bit value (up to 8). */
  hex(x: number, digits: number): void {
    const buf = this.buf;
    for (let i = digits - 1; i >= 0; i--) buf[this.pos++] = HEX[(x >>> (i * 4)) & 15]!;
  }

  word(v: Vocabulary, index: number, capitalize: boolean): void {
    const src = v.bytes;
    const buf = this.buf;
    let pos = this.pos;
    const start = v.start[index]!;
    const end = start + v.length[index]!;
    buf[pos++] = capitalize ? src[start]! - 32 : src[start]!;
    for (let i = start + 1; i < end; i++) buf[pos++] = src[i]!;
    this.pos = pos;
  }
}

/** Words from the shared vocabulary, Zipf-distributed: the texture of prose. */
export class SentenceWriter {
  private readonly vocabulary = getVocabulary();

  constructor(private readonly prng: Prng) {}

  /** `minWords` to `minWords + spread - 1` words, capitalised, with occasional commas and an end mark. */
  write(w: Writer, minWords: number, spread: number): void {
    const v = this.vocabulary;
    const count = minWords + (this.prng.next() % spread);
    for (let i = 0; i < count; i++) {
      const r = this.prng.next();
      w.word(v, v.zipf[r >>> 16]!, i === 0);
      if (i < count - 1) {
        if ((r & 0xff) < 18) w.byte(0x2c); // ,
        w.byte(0x20);
      } else {
        const mark = (r >>> 8) & 0xff;
        w.byte(mark < 220 ? 0x2e : mark < 240 ? 0x3f : 0x21); // . ? !
      }
    }
  }
}

/** UTC timestamps moving forward, written as ISO 8601 without building Date strings per line. */
export class Clock {
  private dayStart = -1;
  private dayPrefix = new Uint8Array(0);

  constructor(public ms: number) {}

  advance(deltaMs: number): void {
    this.ms += deltaMs;
  }

  /** `2024-03-01T12:34:56.789Z`, or without the milliseconds. */
  write(w: Writer, withMillis: boolean): void {
    const dayStart = this.ms - (this.ms % DAY_MS);
    if (dayStart !== this.dayStart) {
      this.dayStart = dayStart;
      this.dayPrefix = Buffer.from(new Date(dayStart).toISOString().slice(0, 11), 'latin1'); // YYYY-MM-DDT
    }
    let t = this.ms - dayStart;
    w.bytes(this.dayPrefix);
    w.padded(Math.floor(t / 3_600_000), 2);
    t %= 3_600_000;
    w.byte(0x3a);
    w.padded(Math.floor(t / 60_000), 2);
    t %= 60_000;
    w.byte(0x3a);
    w.padded(Math.floor(t / 1000), 2);
    if (withMillis) {
      w.byte(0x2e);
      w.padded(t % 1000, 3);
    }
    w.byte(0x5a); // Z
  }
}

export function latin1(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}
