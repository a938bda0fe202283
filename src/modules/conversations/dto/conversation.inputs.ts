import { IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

export const MESSAGE_MAX_CHARS = 32_000;

@ArgsType()
export class StartConversationArgs {
  @Field(() => ID, { description: 'The agent to talk to.' })
  @IsUUID(undefined, { message: 'must be a UUID' })
  agentId!: string;

  @Field(() => String, { description: 'Title, 1–200 characters.' })
  @Matches(/\S/, { message: 'must not be blank' })
  @MaxLength(200)
  title!: string;
}

@ArgsType()
export class SendMessageArgs {
  @Field(() => ID, { description: 'The conversation.' })
  @IsUUID(undefined, { message: 'must be a UUID' })
  conversationId!: string;

  @Field(() => String, { description: `The message, 1–${MESSAGE_MAX_CHARS} characters.` })
  @MinLength(1)
  @Matches(/\S/, { message: 'must not be blank' })
  @MaxLength(MESSAGE_MAX_CHARS)
  content!: string;
}
