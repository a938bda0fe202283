import type { and, IRule } from 'graphql-shield';

export type ShieldRule = IRule | ReturnType<typeof and>;

/** `{ TypeName: { fieldName | '*': rule } }` — what each module contributes to the shield. */
export type PermissionMap = Record<string, Record<string, ShieldRule>>;
