/**
 * mulberry32: 32-bit state, one multiply-xorshift round per output, integer-only arithmetic (Math.imul),
 * so the same seed gives the same sequence on every engine and machine. Its period (2^32 outputs, 16 GiB)
 * is far beyond the largest corpus. Not for cryptography.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const a = (this.state = (this.state + 0x6d2b79f5) | 0);
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/**
 * Folds any safe integer seed (up to 2^53, negative too) and a stream tag into a 32-bit state, mixing
 * both halves so nearby seeds start far apart.
 */
export function seedState(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const low = seed >>> 0;
  const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
  let h = Math.imul(low ^ 0x85ebca6b, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 16) ^ high, 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ stream, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
