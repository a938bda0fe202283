import type { ParleyModule } from '../module.js';
import { Debate, DebateInterjection, DebateParticipant, DebateRound, DebateTurn } from './debate.entity.js';
import { debatesPermissions } from './debates.permissions.js';
import {
  DebateInterjectionResolver,
  DebateParticipantResolver,
  DebatesResolver,
  DebateTurnResolver,
} from './debates.resolver.js';

export const debatesModule: ParleyModule = {
  name: 'debates',
  entities: [Debate, DebateParticipant, DebateRound, DebateTurn, DebateInterjection],
  resolvers: [DebatesResolver, DebateParticipantResolver, DebateTurnResolver, DebateInterjectionResolver],
  permissions: debatesPermissions,
};
