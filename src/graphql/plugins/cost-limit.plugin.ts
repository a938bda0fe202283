import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { checkCost, DocumentLimitError, type DocumentLimits } from '../../security/document-limits.js';
import type { GraphQLContext } from '../context.js';

/**
 * The cost limit, once the operation and its variables are known (page sizes are often variables).
 * Over it: 400 BAD_USER_INPUT naming the limit, before anything executes.
 */
export function costLimitPlugin(limits: DocumentLimits): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          try {
            checkCost(schema, document, operation, request.variables, limits);
          } catch (error) {
            if (!(error instanceof DocumentLimitError)) throw error;
            throw new GraphQLError(error.message, {
              originalError: error,
              extensions: { http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
