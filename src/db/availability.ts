import { TimeoutError } from 'mollitia';

/** SQLSTATEs that mean "the database is not there right now", not "this statement was wrong". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
const UNAVAILABLE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection terminated|connection to the server|Timeout acquiring a connection|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

/**
 * Whether an error means Postgres is unreachable or refusing work (connection lost, server shutting
 * down, too many connections, pool exhausted), which counts against the database's breaker and is
 * shown to clients as SERVICE_UNAVAILABLE. Constraint violations and bad SQL are not.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    // 08P01 (protocol violation) is what a malformed statement gets back, not a lost connection.
    if (
      typeof code === 'string' &&
      code !== '08P01' &&
      (code.startsWith('08') || UNAVAILABLE_STATES.has(code))
    )
      return true;
    if (
      UNAVAILABLE_MESSAGES.test(cause.message) ||
      (typeof code === 'string' && UNAVAILABLE_MESSAGES.test(code))
    )
      return true;
    cause = (cause as { cause?: unknown }).cause ?? (cause as { previous?: unknown }).previous;
  }
  return false;
}
