import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GuardedCircuit } from '../../resilience/circuit.js';
import type { GraphQLContext } from '../context.js';

/**
 * While the database's breaker is open, operations are answered SERVICE_UNAVAILABLE (HTTP 503 with
 * Retry-After) before they run, instead of each waiting out a connection timeout.
 */
export function databaseGuardPlugin(database: GuardedCircuit): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation() {
          if (!database.isOpen) return;
          const error = database.unavailable();
          const retryAfter = String(error.details.retryAfter);
          throw new GraphQLError(error.message, {
            originalError: error,
            extensions: { http: { status: 503, headers: new Map([['retry-after', retryAfter]]) } },
          });
        },
      };
    },
  };
}
