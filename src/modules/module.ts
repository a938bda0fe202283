import type { NonEmptyArray } from 'type-graphql';
import type { PermissionMap } from '../graphql/permissions/types.js';

/** What a feature folder contributes; `modules/index.ts` assembles the app from these. */
export interface ParleyModule {
  name: string;
  entities: (abstract new (...args: never[]) => object)[];
  // type-graphql takes resolver classes as plain constructors.
  resolvers: ResolverClass[];
  permissions: PermissionMap;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- type-graphql's own NonEmptyArray<Function>
export type ResolverClass = Function;
export type ResolverList = NonEmptyArray<ResolverClass>;
