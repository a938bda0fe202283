import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A reply that was queued; it streams on `conversationEvents`.' })
export class QueuedReply {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, { description: 'The user message being answered.' })
  replyTo!: string;

  @Field(() => Int, { description: 'The version being generated (the first reply is 1).' })
  version!: number;
}
