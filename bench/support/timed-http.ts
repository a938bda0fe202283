// For the fake Ollama's child processes: the fake records only when requests arrive (as Dates), so its
// process wraps node:http (it serves nothing else) to timestamp, on the clock every process shares, each
// request's arrival and every NDJSON line it writes.
import http from 'node:http';
import { now } from './metrics.js';

/**
 * Calls `onWrite` for every string written to a response of any server created after this, with when
 * it was written and when its request arrived (its headers were parsed).
 */
export function timeResponseWrites(
  onWrite: (response: http.ServerResponse, text: string, at: number, arrivedAt: number) => void,
): void {
  const arrivals = new WeakMap<http.ServerResponse, number>();
  const createServer = http.createServer as (...args: unknown[]) => http.Server;
  http.createServer = ((...args: unknown[]) => {
    const server = createServer(...args);
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) =>
      arrivals.set(res, now()),
    );
    return server;
  }) as typeof http.createServer;

  const write = http.ServerResponse.prototype.write as (
    this: http.ServerResponse,
    ...args: unknown[]
  ) => boolean;
  http.ServerResponse.prototype.write = function (
    this: http.ServerResponse,
    chunk: unknown,
    ...rest: unknown[]
  ) {
    if (typeof chunk === 'string') {
      const at = now();
      onWrite(this, chunk, at, arrivals.get(this) ?? at);
    }
    return write.call(this, chunk, ...rest);
  } as typeof http.ServerResponse.prototype.write;
}
