import type { ParleyModule } from './module.js';
import { agentsModule } from './agents/index.js';
import { auditModule } from './audit/index.js';
import { authModule } from './auth/index.js';
import { breakersModule } from './breakers/index.js';
import { compressionModule } from './compression/index.js';
import { conversationsModule } from './conversations/index.js';
import { debatesModule } from './debates/index.js';
import { llmModule } from './llm/index.js';
import { usersModule } from './users/index.js';

/** Every feature of the API. Entities, resolvers and permissions are gathered from here only. */
export const modules: ParleyModule[] = [
  usersModule,
  authModule,
  agentsModule,
  auditModule,
  breakersModule,
  llmModule,
  conversationsModule,
  debatesModule,
  compressionModule,
];

export const entities = modules.flatMap((module) => module.entities);
