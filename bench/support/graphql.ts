import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';

/** One GraphQL-over-HTTP request with a typed SDK document, as a client sends it; throws on errors. */
export async function execute<TData, TVariables>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token: string,
): Promise<TData> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: TData | null; errors?: GraphQLFormattedError[] };
  if (!body.data || body.errors)
    throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors)}`);
  return body.data;
}
