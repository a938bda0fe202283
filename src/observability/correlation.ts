import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const CORRELATION_HEADER = 'x-correlation-id';

const storage = new AsyncLocalStorage<{ correlationId: string }>();

// A caller-supplied id is honoured only if it is short and printable, so it cannot break log lines.
const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

export function normaliseCorrelationId(candidate: unknown): string {
  return typeof candidate === 'string' && acceptable.test(candidate) ? candidate : randomUUID();
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

export function runWithCorrelationId<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

/**
 * Enters the id for the rest of the current call and everything it goes on to await. For code that is
 * called by a library (graphql-ws's message handling) rather than calling it, where `run` cannot wrap.
 */
export function enterCorrelationId(correlationId: string): void {
  storage.enterWith({ correlationId });
}

/** Express middleware: takes or makes the id, echoes it, and runs the rest of the request inside it. */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const correlationId = normaliseCorrelationId(req.headers[CORRELATION_HEADER]);
  res.setHeader(CORRELATION_HEADER, correlationId);
  res.locals.correlationId = correlationId;
  runWithCorrelationId(correlationId, next);
}
