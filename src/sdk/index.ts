// The typed SDK, importable as `parley/sdk` (package.json "exports"): the client, its errors, and the
// typed documents and types generated from src/sdk/operations.
export { createParleyClient } from './client.js';
export type { ParleyClient, ParleyClientOptions, ParleyCredentials, RetryOptions } from './client.js';
export { ParleyError, isParleyError, PARLEY_ERROR_CODES } from './errors.js';
export type { ParleyErrorCode } from './errors.js';
export type { Reconnect } from './subscription.js';
export * from './generated/index.js';
export * from './generated/graphql.js';
