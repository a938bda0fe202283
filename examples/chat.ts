// npm run example:chat [-- "a message" "another message" …]
// A conversation with an agent: each message is sent, and the reply is printed as it streams, then
// checked against the stored reply. Needs an Ollama behind Parley (`npm run fake-ollama` has a fake one).
import {
  ConversationEventsDocument,
  MeDocument,
  SendMessageDocument,
  StartConversationDocument,
} from '../src/sdk/index.js';
import { ensureAgent, pickModel, runExample } from './support.js';

const messages =
  process.argv.length > 2 ? process.argv.slice(2) : ['Why is the sky blue?', 'Then why are sunsets red?'];

await runExample(async (parley) => {
  const model = await pickModel(parley); // fails at once, with advice, when Ollama is not there
  const { me } = await parley.query(MeDocument);
  const agent = await ensureAgent(
    parley,
    {
      name: 'Example Assistant',
      model,
      description: 'Answers questions briefly',
      systemPrompt: 'You are a helpful assistant. Answer in two or three sentences.',
      temperature: 0.4,
    },
    me.id,
  );
  const { startConversation: conversation } = await parley.mutate(StartConversationDocument, {
    agentId: agent.id,
    title: messages[0]!.slice(0, 100),
  });
  console.log(`Conversation ${conversation.id} with ${agent.name} (${model})`);

  // Subscribed before the first message: deltas are live only, never replayed.
  const events = parley.subscribe(ConversationEventsDocument, {
    conversationId: conversation.id,
    afterSeq: 0,
  });
  for (const content of messages) {
    console.log(`\nyou: ${content}`);
    const { sendMessage: sent } = await parley.mutate(SendMessageDocument, {
      conversationId: conversation.id,
      content,
    });
    process.stdout.write(`${agent.name}: `);
    let streamed = '';
    let pieces = 0;
    for (;;) {
      const next = await events.next();
      if (next.done) throw new Error('the subscription ended before the reply');
      const event = next.value.conversationEvents;
      if (event.replyTo !== sent.id) continue; // e.g. MESSAGE_ADDED for our own message
      if (event.type === 'REPLY_DELTA') {
        process.stdout.write(event.delta ?? '');
        streamed += event.delta ?? '';
        pieces += 1;
      } else if (event.type === 'REPLY_RESTARTED') {
        process.stdout.write(` … (started over)\n${agent.name}: `);
        streamed = '';
      } else if (event.type === 'REPLY_FAILED') {
        throw new Error(`no reply: ${event.message?.error ?? 'unknown error'}`);
      } else if (event.type === 'REPLY_COMPLETED') {
        const reply = event.message!;
        // The stored reply is the authority: print whatever the deltas did not bring.
        if (reply.content.startsWith(streamed)) process.stdout.write(reply.content.slice(streamed.length));
        else process.stdout.write(`\n(as stored) ${reply.content}`);
        console.log(
          `\n  (${reply.status}: streamed in ${pieces} pieces; ${reply.completionTokens ?? '?'} tokens, ${reply.latencyMs ?? '?'} ms)`,
        );
        break;
      }
    }
  }
  await events.return?.();
});
