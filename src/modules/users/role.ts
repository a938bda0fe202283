import { registerEnumType } from 'type-graphql';

/** Roles inherit: every role can do what the roles below it can. */
export enum Role {
  VIEWER = 'VIEWER',
  ANALYST = 'ANALYST',
  OPERATOR = 'OPERATOR',
  ADMIN = 'ADMIN',
}

const rank: Record<Role, number> = {
  [Role.VIEWER]: 0,
  [Role.ANALYST]: 1,
  [Role.OPERATOR]: 2,
  [Role.ADMIN]: 3,
};

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return rank[role] >= rank[minimum];
}

registerEnumType(Role, {
  name: 'Role',
  description: 'What a user may do. Roles inherit: ADMIN ⊃ OPERATOR ⊃ ANALYST ⊃ VIEWER.',
  valuesConfig: {
    VIEWER: { description: 'Reads agents, debates, conversations shared with them and runs.' },
    ANALYST: { description: 'VIEWER, plus creating compression runs and conversations.' },
    OPERATOR: { description: 'ANALYST, plus managing agents and running debates.' },
    ADMIN: { description: 'Everything, including users, roles and circuit breakers.' },
  },
});
