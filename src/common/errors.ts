/**
 * The domain's error hierarchy. Services throw these; `graphql/error-formatting.ts` is the one place
 * that turns them into GraphQL errors with `extensions.code`. Messages never carry the code.
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  RATE_LIMITED = 'RATE_LIMITED',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** Safe to show to clients; copied into `extensions`. */
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** Why authentication failed, for metrics and logs (never sent to clients: not in `details`). */
export type AuthFailureReason =
  | 'bad_credentials'
  | 'token_expired'
  | 'token_invalid'
  | 'token_malformed'
  | 'token_revoked'
  | 'refresh_invalid'
  | 'refresh_expired'
  | 'refresh_reused'
  | 'refresh_revoked';

export class UnauthenticatedError extends DomainError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(
    message = 'Authentication required: send a valid access token as "Authorization: Bearer <token>"',
    readonly reason?: AuthFailureReason,
  ) {
    super(message);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = ErrorCode.FORBIDDEN;
  constructor(message = 'Not allowed: your role does not permit this operation') {
    super(message);
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(readonly problems: FieldProblem[]) {
    super(`Invalid input: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}`, {
      fields: problems,
    });
  }

  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor(resource: string, id: string) {
    super(`${resource} ${id} was not found`, { resource, id });
  }
}

export class ConflictError extends DomainError {
  readonly code = ErrorCode.CONFLICT;
}

export class RateLimitedError extends DomainError {
  readonly code = ErrorCode.RATE_LIMITED;
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { retryAfter: retryAfterSeconds });
  }
}

export class ServiceUnavailableError extends DomainError {
  readonly code = ErrorCode.SERVICE_UNAVAILABLE;
}
