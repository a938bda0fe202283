import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { connectionType, toConnection } from '../../common/connection.js';
import { PageArgs } from '../../common/pagination.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { StoredEvent } from '../../realtime/index.js';
import { Agent } from '../agents/agent.entity.js';
import { Conversation, Message } from './conversation.entity.js';
import { ConversationEvent, conversationStream, toConversationEvent } from './conversations.events.js';
import { SendMessageArgs, StartConversationArgs } from './dto/conversation.inputs.js';
import { QueuedReply } from './dto/queued-reply.type.js';

export const ConversationConnection = connectionType(Conversation, 'Conversation');
export type ConversationConnection = InstanceType<typeof ConversationConnection>;
export const MessageConnection = connectionType(Message, 'Message');
export type MessageConnection = InstanceType<typeof MessageConnection>;

@Resolver(() => Conversation)
export class ConversationsResolver {
  @Query(() => ConversationConnection, {
    description: 'Your conversations, most recently active first. VIEWER+.',
  })
  async conversations(
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() { em, user, services }: GraphQLContext,
  ): Promise<ConversationConnection> {
    const result = await services.conversations.list(em, user!, page);
    return toConnection(
      ConversationConnection,
      result,
      (conversation) => services.conversations.conversationCursor(conversation),
      () => services.conversations.countOwn(em, user!),
    );
  }

  @Query(() => Conversation, { description: 'One of your conversations (ADMIN: any). VIEWER+.' })
  conversation(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, user, services }: GraphQLContext,
  ): Promise<Conversation> {
    return services.conversations.get(em, user!, id);
  }

  @Mutation(() => Conversation, { description: 'Start a conversation with an agent. ANALYST+.' })
  startConversation(
    @Args(() => StartConversationArgs) { agentId, title }: StartConversationArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Conversation> {
    return ctx.services.conversations.start(ctx.em, ctx.user!, agentId, title);
  }

  @Mutation(() => Message, {
    description:
      'Add your message; returns it at once. The reply is produced in the background: watch `conversationEvents`. ANALYST+.',
  })
  sendMessage(
    @Args(() => SendMessageArgs) { conversationId, content }: SendMessageArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Message> {
    return ctx.services.conversations.send(ctx.em, ctx.user!, conversationId, content);
  }

  @Mutation(() => QueuedReply, {
    description:
      'Generate another version of a reply (`messageId`: the reply, or the message it answers). The earlier versions are kept; the new one streams on `conversationEvents`. ANALYST+.',
  })
  regenerateReply(
    @Arg('messageId', () => ID) messageId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<QueuedReply> {
    return ctx.services.conversations.regenerate(ctx.em, ctx.user!, messageId);
  }

  @Mutation(() => Boolean, {
    description:
      'Stop the reply being generated (closes the request to Ollama; the text so far is kept). ANALYST+.',
  })
  stopGeneration(
    @Arg('conversationId', () => ID) conversationId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    return ctx.services.conversations.stop(ctx.em, ctx.user!, conversationId);
  }

  @Subscription(() => ConversationEvent, {
    description:
      'Messages added, reply deltas (live only), replies completed or failed, in order. `afterSeq` replays stored events. Owner (or ADMIN) only.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const { conversationId, afterSeq } = args as { conversationId: string; afterSeq?: number | null };
      await ctx.services.conversations.get(ctx.em, ctx.user!, conversationId); // ownership, at subscribe time
      return ctx.realtime.subscribe(conversationStream(conversationId), { afterSeq });
    },
  })
  conversationEvents(
    @Root() event: StoredEvent,
    @Arg('conversationId', () => ID, { description: 'The conversation.' }) _conversationId: string,
    @Arg('afterSeq', () => Int, {
      nullable: true,
      description: 'Resume after this seq (replays stored events).',
    })
    _afterSeq?: number,
  ): ConversationEvent {
    return toConversationEvent(event);
  }

  @FieldResolver(() => Agent, { description: 'The agent the conversation is with.' })
  async agent(@Root() conversation: Conversation, @Ctx() { loaders }: GraphQLContext): Promise<Agent> {
    return (await loaders.agentById.load(conversation.agent.id))!;
  }

  @FieldResolver(() => MessageConnection, { description: 'The messages, oldest first.' })
  async messages(
    @Root() conversation: Conversation,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<MessageConnection> {
    const result = await services.conversations.messages(em, conversation.id, page);
    return toConnection(
      MessageConnection,
      result,
      (message) => services.conversations.messageCursor(message),
      () => services.conversations.countMessages(em, conversation.id),
    );
  }
}
