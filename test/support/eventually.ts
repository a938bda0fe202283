export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the error when time runs out. */
  what?: string;
}

/**
 * Polls `probe` until it returns something other than undefined, for writes that may land just after
 * the response (audit rows, log lines). Throws when `timeoutMs` passes without a value.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 2_000, intervalMs = 50, what = 'a value' }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
