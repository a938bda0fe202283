// npm run example:debate [-- "a topic"]
// Makes three agents and a moderator (or brings back the ones an earlier run made), puts them in a debate,
// starts it and prints it live: each turn as it streams, its position and confidence, the consensus after
// every round, and the conclusion. Needs an Ollama behind Parley (`npm run fake-ollama` has a fake one).
import {
  CreateDebateDocument,
  DebateEventsDocument,
  MeDocument,
  StartDebateDocument,
  type DebateEventsSubscription,
} from '../src/sdk/index.js';
import { ensureAgent, pickModel, runExample } from './support.js';

type DebateEvent = DebateEventsSubscription['debateEvents'];

const topic =
  process.argv[2] ??
  'Should a team of five build its own job queue on PostgreSQL, or adopt an existing library?';

const SEATS = [
  {
    name: 'Example Builder',
    stance: 'Build it: a table, SKIP LOCKED and a lease are all a small team needs',
    systemPrompt: 'You are a pragmatic backend engineer who prefers small, well-understood code.',
  },
  {
    name: 'Example Adopter',
    stance: 'Adopt a maintained library',
    systemPrompt: 'You are a staff engineer who has seen home-grown infrastructure rot.',
  },
  {
    name: 'Example Skeptic',
    stance: null,
    systemPrompt: 'You question every claim and ask for the evidence behind it.',
  },
];
const MODERATOR = {
  name: 'Example Moderator',
  systemPrompt: 'You moderate debates fairly and call consensus only when positions have converged.',
};

const out = (text: string) => process.stdout.write(text);
const fixed = (value: number | null | undefined) => (value == null ? '–' : value.toFixed(2));

await runExample(async (parley) => {
  const model = await pickModel(parley); // fails at once, with advice, when Ollama is not there
  const { me } = await parley.query(MeDocument);
  const seats = [];
  for (const { name, systemPrompt } of SEATS)
    seats.push(
      await ensureAgent(parley, { name, systemPrompt, model, description: 'Example debater' }, me.id),
    );
  const moderator = await ensureAgent(
    parley,
    { ...MODERATOR, model, description: 'Example moderator' },
    me.id,
  );

  const { createDebate: debate } = await parley.mutate(CreateDebateDocument, {
    input: {
      topic,
      participants: seats.map((agent, index) => ({ agentId: agent.id, stance: SEATS[index]!.stance })),
      moderatorAgentId: moderator.id,
      maxRounds: 3,
      consensusThreshold: 0.8,
    },
  });
  console.log(`Debate ${debate.id}\n  "${debate.topic}"`);
  for (const seat of debate.participants)
    console.log(`  seat ${seat.seat}: ${seat.agent.name}${seat.stance ? ` (argues: ${seat.stance})` : ''}`);
  console.log(
    `  moderator: ${moderator.name}; up to ${debate.maxRounds} rounds, concludes early at consensus ${fixed(debate.consensusThreshold)}`,
  );
  const nameOf = (seat: number | null | undefined) =>
    debate.participants.find((each) => each.seat === seat)?.agent.name ?? `seat ${seat}`;

  // Subscribed before the start: afterSeq 0 replays the debate's first event ("created"), which shows
  // the subscription is live, so starting then misses no delta of the first turn.
  let started = false;
  let round = 0;
  let streamed = '';
  const prefix = (event: DebateEvent) => out(`  [${event.seat}] ${nameOf(event.seat)}: `);
  for await (const { debateEvents: event } of parley.subscribe(DebateEventsDocument, {
    debateId: debate.id,
    afterSeq: 0,
  })) {
    switch (event.type) {
      case 'STATUS_CHANGED':
        if (!started) {
          started = true;
          await parley.mutate(StartDebateDocument, { id: debate.id });
        } else if (event.status !== 'RUNNING') console.log(`\n  (${event.status}: ${event.reason ?? ''})`);
        break;
      case 'TURN_STARTED':
        if (event.round !== round) console.log(`\nRound ${(round = event.round ?? round)}`);
        streamed = '';
        prefix(event);
        break;
      case 'TURN_DELTA':
        out(event.delta ?? '');
        streamed += event.delta ?? '';
        break;
      case 'TURN_RESTARTED': // a transient failure: the turn starts over
        out(' … (started over)\n');
        streamed = '';
        prefix(event);
        break;
      case 'TURN_COMPLETED': {
        const turn = event.turn!;
        if (!streamed) out(turn.content); // the deltas were missed (a reconnect): the stored turn stands
        console.log(
          turn.valid
            ? `\n      → position "${turn.position}", confidence ${fixed(turn.confidence)}`
            : `\n      → no valid answer (${turn.problem})`,
        );
        break;
      }
      case 'ROUND_COMPLETED': {
        const result = event.roundResult!;
        console.log(
          `  Round ${result.number} consensus: ${fixed(result.consensus)}` +
            ` (leading: "${result.leadingPosition ?? 'none'}", ${result.positionChanges} position changes)`,
        );
        break;
      }
      case 'MODERATOR_NOTE':
        console.log(`  Moderator: ${event.reason}`);
        break;
      case 'INTERJECTION':
        console.log(`  Interjection: ${event.interjection?.content}`);
        break;
      case 'CONCLUDED':
        console.log(`\nConcluded (${event.conclusionReason}) at consensus ${fixed(event.consensus)}`);
        console.log(`Verdict: ${event.verdict}`);
        console.log(`Summary: ${event.summary}`);
        break;
    }
    if (['CONCLUDED', 'CANCELLED', 'FAILED'].includes(event.status)) break;
  }
});
