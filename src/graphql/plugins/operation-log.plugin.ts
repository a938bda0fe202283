import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../common/errors.js';
import { AuditOutcome } from '../../modules/audit/audit-event.entity.js';
import type { AuditEntry } from '../../modules/audit/audit.service.js';
import type { AuthUser } from '../../modules/auth/access-tokens.js';
import type { GraphQLContext } from '../context.js';

const deniedCodes = new Set<string>([ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN]);

function errorsOf(body: unknown): readonly GraphQLFormattedError[] {
  const single = body as { kind?: string; singleResult?: { errors?: readonly GraphQLFormattedError[] } };
  return single.kind === 'single' ? (single.singleResult?.errors ?? []) : [];
}

/** Denials anywhere, and failed mutation fields: successes are recorded by services in their transaction. */
export function auditEntriesFor(
  operationType: string | undefined,
  actor: AuthUser | null,
  errors: readonly GraphQLFormattedError[],
): AuditEntry[] {
  if (!operationType) return [];
  const rootType = operationType[0]!.toUpperCase() + operationType.slice(1);
  const seen = new Set<string>();
  const entries: AuditEntry[] = [];
  for (const error of errors) {
    const code = String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
    const rootField = error.path?.[0];
    if (rootField === undefined) continue;
    // Audited by the rate limiter itself, at most once a minute per caller: floods stay cheap.
    if (code === ErrorCode.RATE_LIMITED) continue;
    const denied = deniedCodes.has(code);
    if (!denied && operationType !== 'mutation') continue;
    const action = `${rootType}.${String(rootField)}`;
    const key = `${action}:${code}`;
    if (seen.has(key)) continue; // a denied list field fails once per item; one row says it
    seen.add(key);
    entries.push({
      actor,
      action,
      outcome: denied ? AuditOutcome.DENIED : AuditOutcome.FAILED,
      details: { code, path: error.path?.join('.'), message: error.message },
    });
  }
  return entries;
}

/**
 * One log line per operation (name, type, user, duration, outcome) and audit rows for denials and
 * failed mutations.
 */
export function operationLogPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ contextValue, operationName, operation, response }) {
          const errors = errorsOf(response.body);
          const codes = [...new Set(errors.map((error) => String(error.extensions?.code ?? 'UNKNOWN')))];
          contextValue.log.info(
            {
              operationName: operationName ?? null,
              operationType: operation?.operation ?? null,
              userId: contextValue.user?.id ?? null,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              outcome: errors.length === 0 ? 'success' : 'error',
              errorCodes: codes.length > 0 ? codes : undefined,
            },
            'graphql operation',
          );
          await contextValue.services.audit.recordDetached(
            auditEntriesFor(operation?.operation, contextValue.user, errors),
          );
        },
      };
    },
  };
}
