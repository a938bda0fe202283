import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Metrics } from '../../observability/metrics.js';
import type { GraphQLContext } from '../context.js';

function errorsOf(body: unknown): readonly GraphQLFormattedError[] | undefined {
  const single = body as { kind?: string; singleResult?: { errors?: readonly GraphQLFormattedError[] } };
  return single.kind === 'single' ? single.singleResult?.errors : undefined;
}

/**
 * Duration of every GraphQL-over-HTTP operation by name and type, and the errors clients got by code
 * (after formatting, so the codes are the ones in the response). A document that never resolved to an
 * operation (parse or validation failure) is `unknown`.
 */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, response }) {
          const type = operation?.operation ?? 'unknown';
          metrics.graphqlOperation(operationName, type, (performance.now() - started) / 1e3);
          metrics.graphqlErrors(type, errorsOf(response.body));
        },
      };
    },
  };
}
