import type { ParleyModule } from '../module.js';
import { LlmResolver } from './llm.resolver.js';
import { llmPermissions } from './llm.permissions.js';

export const llmModule: ParleyModule = {
  name: 'llm',
  entities: [],
  resolvers: [LlmResolver],
  permissions: llmPermissions,
};
