import { allow } from 'graphql-shield';
import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

// Ownership (owner or ADMIN) is checked by the service on every id; these rules are the role floor.
const viewer = hasRole(Role.VIEWER);
const analyst = hasRole(Role.ANALYST);

export const conversationsPermissions: PermissionMap = {
  Query: { conversations: viewer, conversation: viewer },
  Mutation: {
    startConversation: analyst,
    sendMessage: analyst,
    regenerateReply: analyst,
    stopGeneration: analyst,
  },
  Subscription: { conversationEvents: viewer },
  Conversation: { '*': viewer },
  Message: { '*': viewer },
  ConversationEvent: { '*': viewer },
  QueuedReply: { '*': viewer },
  ConversationConnection: { '*': allow },
  ConversationEdge: { '*': allow },
  MessageConnection: { '*': allow },
  MessageEdge: { '*': allow },
};
