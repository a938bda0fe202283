// The read benchmark's dataset (npm run bench:seed, bench/queries.ts, test/read-queries.test.ts): users,
// agents and concluded debates written straight into the tables with SQL, not through the API, so that
// 18,000 turns take seconds. Everything but the one password hash comes from a seeded PRNG, so the same
// counts give the same rows, ids and text on every run.
//
// Idempotent by replacement: the seed's users are the ones whose email ends in SEED_EMAIL_DOMAIN; their
// debates, agents and themselves are deleted first (in the same transaction), and nothing else is touched.
import pg from 'pg';
import { consensusScore, positionChanges, type PositionVote } from '../src/modules/debates/consensus.js';
import { hashPassword } from '../src/modules/auth/passwords.js';

export interface SeedCounts {
  users: number;
  agents: number;
  debates: number;
}

/** The dataset: 1,000 users, 5,000 agents, 2,000 debates × 3 seats × 3 rounds = 18,000 turns. */
export const DEFAULT_SEED: SeedCounts = { users: 1_000, agents: 5_000, debates: 2_000 };

export const SEATS = 3;
export const ROUNDS = 3;
export const SEED_EMAIL_DOMAIN = 'seed.parley.test';
/** Every seeded user's password (they are test accounts on a benchmark database). */
export const SEED_PASSWORD = 'seed-password-not-secret';
/** Even-numbered users are OPERATORs (they own the agents and create the debates), odd ones VIEWERs. */
export const seedEmail = (index: number) =>
  `seed-user-${String(index).padStart(4, '0')}@${SEED_EMAIL_DOMAIN}`;
/** A seeded VIEWER to sign in as. */
export const SEED_VIEWER_EMAIL = seedEmail(1);

export interface SeedResult {
  counts: SeedCounts & { participants: number; rounds: number; turns: number };
  debateIds: string[];
  /** Rows of an earlier seed that were replaced. */
  deleted: { users: number; agents: number; debates: number };
  ms: number;
}

/** mulberry32: small, fast and good enough to make text and choices repeatable. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (below: number) => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]) => items[int(items.length)]!;
  const uuid = () => {
    const bytes = Array.from({ length: 16 }, () => int(256));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
    const hex = bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  return { next, int, pick, uuid };
}

const WORDS = (
  'the a model agent evidence argument position consensus round cost benefit risk data latency ' +
  'throughput users policy trade-off we should because therefore however moreover consider option ' +
  'proposal budget quality safety privacy scale cache database index query network memory cpu ' +
  'measure test deploy rollback incident review design simple complex clear likely unlikely strong ' +
  'weak long-term short-term team customer market price value growth open source license standard'
).split(' ');
const MODELS = ['llama3.2:3b', 'qwen2.5:7b', 'mistral:7b', 'gemma2:9b', 'phi3:mini'];
const POSITIONS = ['yes', 'no', 'it depends', 'option A', 'option B'];
const BASE_MS = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

/** Sentences of vocabulary words, about `length` characters long. */
function text(random: ReturnType<typeof prng>, length: number): string {
  const sentences: string[] = [];
  let size = 0;
  while (size < length) {
    const words = Array.from({ length: 6 + random.int(10) }, () => random.pick(WORDS));
    const sentence = `${words[0]!.charAt(0).toUpperCase()}${words.join(' ').slice(1)}.`;
    sentences.push(sentence);
    size += sentence.length + 1;
  }
  return sentences.join(' ');
}

/** Column name → the array's element type, `text:<enum>` for an enum column (sent as text, cast per value). */
type Columns = Record<string, string>;

/** Inserts rows (one array per column) in batches, one `insert … select … from unnest(…)` each. */
async function insert(
  client: pg.ClientBase,
  table: string,
  columns: Columns,
  rows: unknown[][],
  batch = 1_000,
): Promise<void> {
  const names = Object.keys(columns);
  const types = Object.values(columns).map((type) => type.split(':'));
  const params = types.map(([element], i) => `$${i + 1}::${element}[]`).join(', ');
  const values = names.map((name, i) => (types[i]![1] ? `${name}::${types[i]![1]}` : name)).join(', ');
  const sql = `insert into ${table} (${names.join(', ')}) select ${values} from unnest(${params}) as t(${names.join(', ')})`;
  for (let start = 0; start < rows.length; start += batch) {
    const slice = rows.slice(start, start + batch);
    await client.query(
      sql,
      names.map((_, column) => slice.map((row) => row[column])),
    );
  }
}

/**
 * Writes the dataset into the database `client` is connected to (migrated), replacing an earlier seed,
 * in one transaction, then ANALYZEs the tables (as autovacuum eventually would) so plans are realistic.
 */
export async function seedDataset(
  client: pg.ClientBase,
  counts: SeedCounts = DEFAULT_SEED,
): Promise<SeedResult> {
  const startedAt = performance.now();
  if (counts.users < 2 || counts.agents < SEATS || counts.debates < 1)
    throw new Error('the seed needs at least 2 users, 3 agents and 1 debate');
  const random = prng(0x5eed_0010);
  const passwordHash = await hashPassword(SEED_PASSWORD);

  const users = Array.from({ length: counts.users }, (_, i) => ({
    id: random.uuid(),
    role: i % 2 === 0 ? 'OPERATOR' : 'VIEWER',
    createdAt: iso(BASE_MS + i * 60_000),
  }));
  const operators = users.filter((user) => user.role === 'OPERATOR');
  const agents = Array.from({ length: counts.agents }, (_, i) => ({
    id: random.uuid(),
    name: `agent-${String(i).padStart(5, '0')}`,
    model: random.pick(MODELS),
    ownerId: random.pick(operators).id,
    systemPrompt: text(random, 190 + random.int(20)),
    temperature: Math.round(random.next() * 100) / 100,
    createdAt: iso(BASE_MS + 86_400_000 + i * 10_000),
  }));

  const debateRows: unknown[][] = [];
  const participantRows: unknown[][] = [];
  const roundRows: unknown[][] = [];
  const turnRows: unknown[][] = [];
  const debateIds: string[] = [];
  for (let d = 0; d < counts.debates; d++) {
    const id = random.uuid();
    debateIds.push(id);
    const createdMs = BASE_MS + 2 * 86_400_000 + d * 300_000;
    const startedMs = createdMs + 1_000;
    const seated = new Set<number>();
    while (seated.size < SEATS) seated.add(random.int(agents.length));
    const seats = [...seated].map((index) => agents[index]!);
    let previous: PositionVote[] = [];
    let tokensUsed = 0;
    let consensus = 0;
    let verdict: string | null = null;
    for (let round = 1; round <= ROUNDS; round++) {
      const votes: PositionVote[] = [];
      let roundTokens = 0;
      for (let seat = 1; seat <= SEATS; seat++) {
        const position = random.pick(POSITIONS);
        const confidence = Math.round((0.4 + random.next() * 0.6) * 100) / 100;
        const promptTokens = 300 + random.int(400);
        const completionTokens = 150 + random.int(100);
        roundTokens += promptTokens + completionTokens;
        votes.push({ seat, position, confidence });
        const offset = ((round - 1) * SEATS + seat) * 20_000;
        turnRows.push([
          random.uuid(),
          id,
          round,
          seat,
          seats[seat - 1]!.id,
          text(random, 780 + random.int(40)),
          position,
          confidence,
          true,
          false,
          promptTokens,
          completionTokens,
          2_000 + random.int(8_000),
          iso(startedMs + offset),
        ]);
      }
      const score = consensusScore(votes);
      const changes = round > 1 ? positionChanges(previous, votes) : 0;
      roundRows.push([
        random.uuid(),
        id,
        round,
        score.score,
        score.leadingPosition,
        changes,
        SEATS,
        roundTokens,
        iso(startedMs + round * SEATS * 20_000 + 1_000),
      ]);
      tokensUsed += roundTokens;
      consensus = score.score;
      verdict = score.leadingPosition;
      previous = votes;
    }
    const endedMs = startedMs + ROUNDS * SEATS * 20_000 + 5_000;
    for (let seat = 1; seat <= SEATS; seat++) {
      const last = previous[seat - 1]!;
      participantRows.push([random.uuid(), id, seat, seats[seat - 1]!.id, last.position, last.confidence]);
    }
    debateRows.push([
      id,
      `Seeded debate ${d}: ${text(random, 60).slice(0, 80)}`,
      'CONCLUDED',
      random.pick(operators).id,
      ROUNDS,
      0.8,
      ROUNDS,
      1,
      'MAX_ROUNDS',
      `After ${ROUNDS} rounds the seats leaned towards "${verdict}".`,
      verdict,
      consensus,
      tokensUsed,
      ROUNDS * SEATS,
      iso(startedMs),
      iso(endedMs),
      iso(createdMs),
      iso(endedMs),
    ]);
  }

  await client.query('begin');
  let deleted: SeedResult['deleted'];
  try {
    const seedUsers = `(select id from users where email like '%@' || $1::text)`;
    const debates = await client.query(`delete from debates where created_by_id in ${seedUsers}`, [
      SEED_EMAIL_DOMAIN,
    ]);
    const agentsDeleted = await client.query(`delete from agents where owner_id in ${seedUsers}`, [
      SEED_EMAIL_DOMAIN,
    ]);
    const usersDeleted = await client.query(`delete from users where email like '%@' || $1::text`, [
      SEED_EMAIL_DOMAIN,
    ]);
    deleted = {
      users: usersDeleted.rowCount ?? 0,
      agents: agentsDeleted.rowCount ?? 0,
      debates: debates.rowCount ?? 0,
    };

    await insert(
      client,
      'users',
      {
        id: 'uuid',
        email: 'text',
        password_hash: 'text',
        role: 'text:user_role',
        created_at: 'timestamptz',
        updated_at: 'timestamptz',
      },
      users.map((user, i) => [
        user.id,
        seedEmail(i),
        passwordHash,
        user.role,
        user.createdAt,
        user.createdAt,
      ]),
    );
    await insert(
      client,
      'agents',
      {
        id: 'uuid',
        name: 'text',
        description: 'text',
        model: 'text',
        system_prompt: 'text',
        temperature: 'float8',
        options: 'jsonb',
        owner_id: 'uuid',
        created_at: 'timestamptz',
        updated_at: 'timestamptz',
      },
      agents.map((agent) => [
        agent.id,
        agent.name,
        `Seeded agent ${agent.name}`,
        agent.model,
        agent.systemPrompt,
        agent.temperature,
        '{}',
        agent.ownerId,
        agent.createdAt,
        agent.createdAt,
      ]),
    );
    await insert(
      client,
      'debates',
      {
        id: 'uuid',
        topic: 'text',
        status: 'text:debate_status',
        created_by_id: 'uuid',
        max_rounds: 'int4',
        consensus_threshold: 'float8',
        current_round: 'int4',
        epoch: 'int4',
        conclusion_reason: 'text:debate_conclusion_reason',
        summary: 'text',
        verdict: 'text',
        consensus: 'float8',
        tokens_used: 'int8',
        turn_count: 'int4',
        started_at: 'timestamptz',
        ended_at: 'timestamptz',
        created_at: 'timestamptz',
        updated_at: 'timestamptz',
      },
      debateRows,
    );
    await insert(
      client,
      'debate_participants',
      {
        id: 'uuid',
        debate_id: 'uuid',
        seat: 'int4',
        agent_id: 'uuid',
        final_position: 'text',
        final_confidence: 'float8',
      },
      participantRows,
    );
    await insert(
      client,
      'debate_rounds',
      {
        id: 'uuid',
        debate_id: 'uuid',
        number: 'int4',
        consensus: 'float8',
        leading_position: 'text',
        position_changes: 'int4',
        turns: 'int4',
        tokens: 'int4',
        completed_at: 'timestamptz',
      },
      roundRows,
    );
    await insert(
      client,
      'debate_turns',
      {
        id: 'uuid',
        debate_id: 'uuid',
        round: 'int4',
        seat: 'int4',
        agent_id: 'uuid',
        content: 'text',
        position: 'text',
        confidence: 'float8',
        valid: 'bool',
        repaired: 'bool',
        prompt_tokens: 'int4',
        completion_tokens: 'int4',
        latency_ms: 'int4',
        created_at: 'timestamptz',
      },
      turnRows,
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  await client.query('analyze users, agents, debates, debate_participants, debate_rounds, debate_turns');
  return {
    counts: {
      ...counts,
      participants: participantRows.length,
      rounds: roundRows.length,
      turns: turnRows.length,
    },
    debateIds,
    deleted,
    ms: Math.round(performance.now() - startedAt),
  };
}
