import { describe, expect, it } from 'vitest';
import type { Agent } from '../src/modules/agents/agent.entity.js';
import { Message, MessageRole, MessageStatus } from '../src/modules/conversations/conversation.entity.js';
import { buildChat } from '../src/modules/conversations/reply.worker.js';

const agent = { systemPrompt: 'Be brief.' } as Agent;

function message(
  id: string,
  position: number,
  role: MessageRole,
  extra: Partial<Pick<Message, 'replyTo' | 'version' | 'status'>> = {},
): Message {
  return Object.assign(new Message(), { id, position, role, content: id, ...extra });
}

// u1 answered by a1 (v1, then regenerated as v2 at the end), u2 answered by a2, and u3 new.
const history = [
  message('u1', 1, MessageRole.USER),
  message('a1v1', 2, MessageRole.ASSISTANT, { replyTo: 'u1', version: 1 }),
  message('u2', 3, MessageRole.USER),
  message('a2', 4, MessageRole.ASSISTANT, { replyTo: 'u2', version: 1 }),
  message('a1v2', 5, MessageRole.ASSISTANT, { replyTo: 'u1', version: 2 }),
  message('a2v2-failed', 6, MessageRole.ASSISTANT, {
    replyTo: 'u2',
    version: 2,
    status: MessageStatus.FAILED,
  }),
  message('u3', 7, MessageRole.USER),
];

const contents = (answering: string) =>
  buildChat(
    agent,
    history,
    history.find((each) => each.id === answering)!,
  ).map((each) => `${each.role}:${each.content}`);

describe('the reply prompt', () => {
  it('puts the newest version of each reply right after the message it answers', () => {
    expect(contents('u3')).toEqual([
      'system:Be brief.',
      'user:u1',
      'assistant:a1v2',
      'user:u2',
      'assistant:a2',
      'user:u3',
    ]);
  });

  it('regenerating an earlier reply sees the conversation only up to the message it answers', () => {
    expect(contents('u1')).toEqual(['system:Be brief.', 'user:u1']);
    expect(contents('u2')).toEqual(['system:Be brief.', 'user:u1', 'assistant:a1v2', 'user:u2']);
  });
});
