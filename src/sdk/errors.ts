import type { GraphQLFormattedError } from 'graphql';

/**
 * The `extensions.code` values Parley answers with (README, Errors), plus the ones graphql-js and Apollo
 * set for documents that never reach a resolver, plus `NETWORK_ERROR` for answers that are not GraphQL
 * at all (server unreachable, a proxy's HTML page, a WebSocket that would not come back).
 */
export const PARLEY_ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'NETWORK_ERROR',
] as const;

export type ParleyErrorCode = (typeof PARLEY_ERROR_CODES)[number];

const isCode = (value: unknown): value is ParleyErrorCode =>
  typeof value === 'string' && (PARLEY_ERROR_CODES as readonly string[]).includes(value);

/** HTTP statuses Parley uses without a GraphQL body to go with them (or behind a proxy that ate it). */
const codeForStatus: Record<number, ParleyErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  413: 'BAD_USER_INPUT',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

export interface ParleyErrorInit<TData> {
  code: ParleyErrorCode;
  message: string;
  errors?: readonly GraphQLFormattedError[];
  data?: TData | null;
  retryAfter?: number;
  status?: number;
  closeCode?: number;
  cause?: unknown;
}

/**
 * Every failure the SDK reports. One class with a typed `code` rather than a class per code: callers
 * switch on `error.code` (the same values the server documents), and TypeScript checks the cases.
 */
export class ParleyError<TData = unknown> extends Error {
  override readonly name = 'ParleyError';
  /** The first error's `extensions.code`. */
  readonly code: ParleyErrorCode;
  /** Every GraphQL error of the answer, as the server sent them (paths, `extensions.fields`, …). */
  readonly errors: readonly GraphQLFormattedError[];
  /** Whatever data came with the errors: a partial result, or null when the root field failed. */
  readonly data: TData | null | undefined;
  /** RATE_LIMITED and SERVICE_UNAVAILABLE: seconds to wait before trying again. */
  readonly retryAfter: number | undefined;
  /** The HTTP status, for answers over HTTP. */
  readonly status: number | undefined;
  /** The WebSocket close code, when a subscription ended because its socket was closed for good. */
  readonly closeCode: number | undefined;

  constructor(init: ParleyErrorInit<TData>) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.errors = init.errors ?? [];
    this.data = init.data;
    this.retryAfter = init.retryAfter;
    this.status = init.status;
    this.closeCode = init.closeCode;
  }

  /** From the `errors` of a GraphQL answer (HTTP body, or a graphql-ws `next`/`error` payload). */
  static fromGraphQL<TData>(
    errors: readonly GraphQLFormattedError[],
    extra: { data?: TData | null; status?: number; retryAfterHeader?: string | null } = {},
  ): ParleyError<TData> {
    const first = errors[0];
    const code = first?.extensions?.code;
    const retryAfter = first?.extensions?.retryAfter ?? extra.retryAfterHeader;
    return new ParleyError({
      code: isCode(code) ? code : (codeForStatus[extra.status ?? 0] ?? 'INTERNAL_SERVER_ERROR'),
      message: first?.message ?? 'Unknown error',
      errors,
      data: extra.data,
      status: extra.status,
      retryAfter: retryAfter == null || Number.isNaN(Number(retryAfter)) ? undefined : Number(retryAfter),
    });
  }

  /** An HTTP answer without a GraphQL body (a proxy error page, an empty 502). */
  static fromStatus(status: number, retryAfterHeader: string | null): ParleyError<never> {
    return new ParleyError({
      code: codeForStatus[status] ?? 'NETWORK_ERROR',
      message: `HTTP ${status} without a GraphQL answer`,
      status,
      retryAfter: retryAfterHeader ? Number(retryAfterHeader) || undefined : undefined,
    });
  }
}

/** Narrows `error` to a ParleyError, optionally of one code: `if (isParleyError(e, 'FORBIDDEN'))`. */
export function isParleyError(error: unknown, code?: ParleyErrorCode): error is ParleyError {
  return error instanceof ParleyError && (code === undefined || error.code === code);
}
