import type { Request, RequestHandler, Response } from 'express';
import { DomainError, RateLimitedError } from '../common/errors.js';
import { authenticate, type CallerIdentity } from '../graphql/context.js';
import type { Services } from '../modules/services.js';
import {
  checkNoNulCharacters,
  checkSource,
  DocumentLimitError,
  type DocumentLimits,
} from './document-limits.js';

/** A whole request refused before GraphQL runs, in the GraphQL response shape with a typed code. */
export function sendRefusal(res: Response, status: number, error: DomainError): void {
  if (error instanceof RateLimitedError) res.setHeader('Retry-After', String(error.details.retryAfter));
  res.status(status).json({
    errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }],
  });
}

/** The caller as the GraphQL context will see it (set by `callerGuard`). */
export function callerOf(res: Response): CallerIdentity {
  return res.locals.caller as CallerIdentity;
}

/**
 * Authenticates once per request and spends one operation from the caller's rate-limit tier, before the
 * body is even looked at: floods of invalid documents are limited like valid ones. Over the limit: 429
 * with `Retry-After`.
 */
export function callerGuard(services: Services): RequestHandler {
  return async (req, res, next) => {
    try {
      const caller = await authenticate(services, req.headers.authorization);
      res.locals.caller = caller;
      if (req.method === 'OPTIONS') return next();
      await services.rateLimits.checkOperation({ user: caller.user, clientAddress: clientAddress(req) });
      next();
    } catch (error) {
      if (error instanceof RateLimitedError) return sendRefusal(res, 429, error);
      next(error);
    }
  };
}

export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * Checks what can be checked on the raw request: batch size, then characters and tokens of each
 * document (so oversized documents are never parsed), and NUL characters anywhere in it or its variables.
 */
export function documentGuard(limits: DocumentLimits): RequestHandler {
  return (req, res, next) => {
    const body: unknown = req.method === 'GET' ? req.query : req.body;
    const operations = Array.isArray(body) ? body : [body];
    try {
      if (Array.isArray(body) && body.length > limits.maxBatch) {
        throw new DocumentLimitError(
          'maxBatch',
          limits.maxBatch,
          body.length,
          limits.maxBatch === 1 ? 'batching is off; operations' : 'operations',
        );
      }
      for (const operation of operations) {
        const { query, variables } = (operation ?? {}) as { query?: unknown; variables?: unknown };
        if (typeof query !== 'string') continue;
        checkSource(query, limits);
        checkNoNulCharacters(query, variables);
      }
      next();
    } catch (error) {
      if (error instanceof DomainError) return sendRefusal(res, 400, error);
      next(error);
    }
  };
}
