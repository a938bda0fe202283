import { allow } from 'graphql-shield';
import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

// Everyone signed in may watch; running a debate needs OPERATOR (and, checked by the service, to be its
// creator or an ADMIN).
const viewer = hasRole(Role.VIEWER);
const operator = hasRole(Role.OPERATOR);

export const debatesPermissions: PermissionMap = {
  Query: { debates: viewer, debate: viewer },
  Mutation: {
    createDebate: operator,
    startDebate: operator,
    pauseDebate: operator,
    resumeDebate: operator,
    cancelDebate: operator,
    interject: operator,
  },
  Subscription: { debateEvents: viewer },
  Debate: { '*': viewer },
  DebateParticipant: { '*': viewer },
  DebateRound: { '*': viewer },
  DebateTurn: { '*': viewer },
  DebateInterjection: { '*': viewer },
  DebateFigures: { '*': viewer },
  DebateEvent: { '*': viewer },
  DebateConnection: { '*': allow },
  DebateEdge: { '*': allow },
  DebateTurnConnection: { '*': allow },
  DebateTurnEdge: { '*': allow },
};
