import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';

export interface GraphQLResponse<TData> {
  status: number;
  headers: Headers;
  data?: TData | null;
  errors?: GraphQLFormattedError[];
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
}

/** One GraphQL-over-HTTP request with a typed document, as a client would send it. */
export async function execute<TData, TVariables>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables?: TVariables,
  { token, headers = {} }: RequestOptions = {},
): Promise<GraphQLResponse<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: TData | null; errors?: GraphQLFormattedError[] };
  return { status: response.status, headers: response.headers, ...body };
}

/** The `extensions.code` of each error, in order. */
export function codes(response: { errors?: readonly GraphQLFormattedError[] }): string[] {
  return (response.errors ?? []).map((error) => String(error.extensions?.code));
}
