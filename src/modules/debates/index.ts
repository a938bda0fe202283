import type { ParleyModule } from '../module.js';
import { Debate, DebateInterjection, DebateParticipant, DebateRound, DebateTurn } from './debate.entity.js';

export const debatesModule: ParleyModule = {
  name: 'debates',
  entities: [Debate, DebateParticipant, DebateRound, DebateTurn, DebateInterjection],
  resolvers: [],
  permissions: {},
};
