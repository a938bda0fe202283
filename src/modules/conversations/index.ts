import type { ParleyModule } from '../module.js';
import { Conversation, Message } from './conversation.entity.js';
import { ConversationsResolver } from './conversations.resolver.js';
import { conversationsPermissions } from './conversations.permissions.js';

export const conversationsModule: ParleyModule = {
  name: 'conversations',
  entities: [Conversation, Message],
  resolvers: [ConversationsResolver],
  permissions: conversationsPermissions,
};
