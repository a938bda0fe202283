import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError as ClassValidationError } from 'class-validator';
import { DomainError, ErrorCode, ValidationError, type FieldProblem } from '../common/errors.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import { contextLogger, type Logger } from '../observability/logger.js';

/** Codes graphql-js and Apollo set themselves for documents that never reach a resolver. */
const passThroughCodes = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

function flattenValidation(errors: ClassValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      // class-validator starts messages with the property name; the field is named separately.
      message: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
    }));
    return [...own, ...flattenValidation(error.children ?? [], field)];
  });
}

/**
 * The one place domain errors become GraphQL errors. Anything unknown is logged whole and shown to the
 * client as INTERNAL_SERVER_ERROR, with its message only in development (never a stack, and never SQL
 * outside development).
 */
export function createErrorFormatter(options: { development: boolean; log: Logger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // Errors thrown by plugins arrive wrapped without a path; the domain error is inside.
    const original =
      unwrapped instanceof GraphQLError && unwrapped.originalError ? unwrapped.originalError : unwrapped;
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

    if (original instanceof ArgumentValidationError) {
      const problems = flattenValidation(original.extensions.validationErrors as ClassValidationError[]);
      const domain = new ValidationError(problems);
      return { ...base, message: domain.message, extensions: { code: domain.code, ...domain.details } };
    }
    if (original instanceof DomainError) {
      return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
    }
    if (isDatabaseUnavailable(original)) {
      contextLogger(options.log).warn({ err: original, path: formatted.path }, 'database unavailable');
      return {
        ...base,
        message: 'The database is unavailable; try again shortly',
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: 1 },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && passThroughCodes.has(code)) {
      return { ...base, extensions: { code } };
    }
    contextLogger(options.log).error(
      { err: original, path: formatted.path },
      'unexpected error in GraphQL operation',
    );
    return {
      ...base,
      message: options.development ? `Internal server error: ${formatted.message}` : 'Internal server error',
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
