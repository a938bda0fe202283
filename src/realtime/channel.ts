/**
 * A push-to-pull bridge: the hub pushes, graphql-ws pulls with `for await`. `return()` (the client
 * completing or disconnecting) runs the cleanup exactly once.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  /** A GraphQL subscription reads it (metrics tell these from internal followers). */
  graphql = false;
  private sink: ((value: T) => void) | undefined;
  /** Set by a push-mode consumer: true while it cannot take more (e.g. its socket buffer is full). */
  congested: () => boolean = () => false;
  /** Called when a producer gave up waiting for `congested()` to clear (the consumer stopped reading). */
  stalled: () => void = () => undefined;
  private onEnd: ((error?: Error) => void) | undefined;
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failing: ((error: Error) => void) | undefined;
  private error: Error | undefined;
  private done = false;

  constructor(private readonly onClose: () => void) {}

  push(value: T): void {
    if (this.done) return;
    if (this.sink) {
      this.sink(value);
    } else if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failing = undefined;
      resolve({ value, done: false });
    } else {
      this.queue.push(value);
    }
  }

  /**
   * Push mode for the hot path: values go straight to `sink`, synchronously, with no promise per value.
   * `onEnd` is told when the channel ends (with the error, if it failed).
   */
  attach(sink: (value: T) => void, onEnd: (error?: Error) => void): void {
    this.sink = sink;
    this.onEnd = onEnd;
    for (const value of this.queue.splice(0)) sink(value);
    if (this.error) {
      const error = this.error;
      this.finish();
      onEnd(error);
    }
  }

  /** Ends the stream with an error delivered after what is already queued. */
  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    if (this.sink) {
      const onEnd = this.onEnd;
      this.finish();
      onEnd?.(error);
      return;
    }
    if (this.failing && this.queue.length === 0) {
      const reject = this.failing;
      this.waiting = this.failing = undefined;
      this.finish();
      reject(error);
    }
  }

  get size(): number {
    return this.queue.length;
  }

  /** Whether a producer that can wait (a replay) should hold back for now. */
  backedUp(highWater: number): boolean {
    return this.queue.length > highWater || this.congested();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.error) {
      const error = this.error;
      this.finish();
      return Promise.reject(error);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failing = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    const resolve = this.waiting;
    this.waiting = this.failing = undefined;
    resolve?.({ value: undefined, done: true });
    const onEnd = this.onEnd;
    this.sink = this.onEnd = undefined;
    this.onClose();
    onEnd?.();
  }
}
