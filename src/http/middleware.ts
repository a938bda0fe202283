import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ErrorCode } from '../common/errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * CORS with an allow-list. With no list: development allows any origin (Sandbox, local dashboards);
 * production allows none but its own.
 */
export function cors(allowList: string[], production: boolean): RequestHandler {
  const allowAny = allowList.length === 0 && !production;
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && (allowAny || allowList.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'authorization, content-type, x-correlation-id, apollo-require-preflight, x-apollo-operation-name',
      );
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Expose-Headers', 'x-correlation-id, retry-after');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * Security headers for an API (OWASP): nothing may frame, sniff or load from our responses. Sandbox's
 * landing page (HTML on GET /graphql, development or when enabled) loads Apollo's embed script, so its
 * page gets a policy that allows exactly that. HSTS in production, where TLS terminates in front of us.
 */
export function securityHeaders(options: { production: boolean; landingPage: boolean }): RequestHandler {
  const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  const landingPolicy = [
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://embeddable-sandbox.cdn.apollographql.com",
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
    "font-src 'self' https://fonts.gstatic.com",
    "img-src 'self' data: https://apollo-server-landing-page.cdn.apollographql.com",
    'frame-src https://sandbox.embed.apollographql.com',
    "connect-src 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return (req, res, next) => {
    const landing =
      options.landingPage && req.method === 'GET' && Boolean(req.headers.accept?.includes('text/html'));
    res.setHeader('Content-Security-Policy', landing ? landingPolicy : apiPolicy);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-site');
    if (options.production) {
      res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    }
    next();
  };
}

/** Bodies the JSON parser refused, answered in the GraphQL error shape with a typed code. */
export function bodyErrorHandler(log: Logger, limitBytes: number): ErrorRequestHandler {
  return (error: { type?: string; status?: number }, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const tooLarge = error.type === 'entity.too.large';
    const malformed = error.type === 'entity.parse.failed';
    if (!tooLarge && !malformed && error.status !== 400 && error.status !== 415) {
      log.error({ err: error }, 'unhandled HTTP error');
      res.status(500).json({
        errors: [{ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }],
      });
      return;
    }
    const message = tooLarge
      ? `Request body is larger than the limit of ${limitBytes} bytes`
      : malformed
        ? 'Request body is not valid JSON'
        : 'Request body could not be read';
    res
      .status(tooLarge ? 413 : 400)
      .json({ errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
  };
}
