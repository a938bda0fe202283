// What `npm run seed` writes: demo agents, one debate played to its conclusion, and compression runs.
// Seeded rows are recognised by these names (agents: owner and name; the debate: creator and topic; runs:
// requester and SEED_CORPUS_SEED), so a second seed finds them and adds nothing.
import { CompressionAlgorithm } from '../src/modules/compression/compression-algorithm.js';
import { CorpusKind } from '../src/modules/compression/compression-input.js';

export interface SeedAgent {
  name: string;
  description: string;
  model: string;
  systemPrompt: string;
  temperature: number;
  supportedAlgorithms: CompressionAlgorithm[];
}

export const SEED_AGENTS = {
  economist: {
    name: 'Demo Economist',
    description: 'Argues from costs, incentives and evidence.',
    model: 'llama3.2:3b',
    systemPrompt:
      'You are a pragmatic economist. Put numbers on costs and risks, cite the assumptions behind them, and change your mind when the numbers say so.',
    temperature: 0.6,
    supportedAlgorithms: [],
  },
  engineer: {
    name: 'Demo SRE',
    description: 'A site-reliability engineer who has run databases in production.',
    model: 'qwen2.5:7b',
    systemPrompt:
      'You are a senior site-reliability engineer. Judge proposals by what breaks at 3 a.m., how it is detected and how it is recovered.',
    temperature: 0.5,
    supportedAlgorithms: [CompressionAlgorithm.GZIP, CompressionAlgorithm.ZSTD],
  },
  skeptic: {
    name: 'Demo Skeptic',
    description: 'Asks for evidence and names the assumptions nobody stated.',
    model: 'llama3.2:3b',
    systemPrompt:
      'You challenge every claim. Ask what evidence supports it, name unstated assumptions, and accept a position only when its conditions are explicit.',
    temperature: 0.8,
    supportedAlgorithms: [],
  },
  moderator: {
    name: 'Demo Moderator',
    description: 'Keeps debates on track and writes the summary.',
    model: 'qwen2.5:7b',
    systemPrompt:
      'You moderate debates. Summarise fairly, name the strongest argument on each side, and call consensus only when positions have truly converged.',
    temperature: 0.3,
    supportedAlgorithms: [],
  },
} satisfies Record<string, SeedAgent>;

export type SeedAgentKey = keyof typeof SEED_AGENTS;

export interface ScriptedTurn {
  argument: string;
  position: string;
  confidence: number;
}

export interface ScriptedRound {
  /** One per seat, in seat order. */
  turns: ScriptedTurn[];
  /** The moderator's word after the round (none after the last). */
  moderatorNote?: string;
}

export const SEED_DEBATE = {
  topic:
    'Should a five-person startup run its own PostgreSQL rather than pay for a managed database service?',
  seats: [
    { agent: 'economist', stance: 'A managed service is cheaper once engineering time is counted' },
    { agent: 'engineer', stance: 'Self-hosting is fine with good automation' },
    { agent: 'skeptic', stance: null },
  ] satisfies { agent: SeedAgentKey; stance: string | null }[],
  moderator: 'moderator' as SeedAgentKey,
  maxRounds: 3,
  consensusThreshold: 0.75,
  rounds: [
    {
      turns: [
        {
          argument:
            'A managed tier sized for a team of five costs about $200 a month. Running PostgreSQL well means backups, point-in-time recovery, minor and major upgrades, monitoring and someone on call. Even at four hours a month of an engineer’s time, the managed option is cheaper, and one botched restore costs more than years of the fee.',
          position: 'Managed service',
          confidence: 0.72,
        },
        {
          argument:
            'One virtual machine, pgBackRest for backups to object storage and a restore runbook we actually rehearse: that costs a fraction of a managed tier and keeps extensions, tuning and the upgrade schedule in our hands. Most of the work is automation written once.',
          position: 'Self-host',
          confidence: 0.66,
        },
        {
          argument:
            'Both arguments rest on numbers nobody has shown. How large is the data, what recovery time can the business accept, and has anyone here run PostgreSQL in production? Without those answers the cheaper option is unknown. The real risk is an untested backup, whoever runs it.',
          position: 'It depends',
          confidence: 0.5,
        },
      ],
      moderatorNote:
        'Positions are split three ways. Next round: put numbers on staff time and on the cost of an outage, and say what would change your mind.',
    },
    {
      turns: [
        {
          argument:
            'Taking the SRE’s own estimate (two days to automate, then two hours a month), the first year costs about 40 engineer-hours, roughly $4,000, against $2,400 for the managed tier. The gap widens with the first incident at 3 a.m., which the provider absorbs and we do not.',
          position: 'Managed service',
          confidence: 0.78,
        },
        {
          argument:
            'Fair point on the on-call burden. Nobody on this team has run PostgreSQL in production, so the automation is a guess until a real failure tests it. I would move to a managed service now and keep the option to self-host once we have a dedicated operator.',
          position: 'Managed service',
          confidence: 0.55,
        },
        {
          argument:
            'If managed, then with an exit plan: weekly logical exports to storage we own, and no provider-only extensions, so that leaving stays a migration rather than a rewrite.',
          position: 'Managed service with an exit plan',
          confidence: 0.6,
        },
      ],
      moderatorNote:
        'Two seats now favour a managed service and the third agrees on condition of an exit plan. One more round to see whether that condition can become part of a shared position.',
    },
    {
      turns: [
        {
          argument:
            'I accept the exit plan: scripted weekly exports cost about an hour a month and remove the lock-in objection. A managed service with portable backups is the cheapest safe choice at this size.',
          position: 'Managed service',
          confidence: 0.82,
        },
        {
          argument:
            'Agreed: a managed service now, portable backups, and a review when the database passes a few hundred gigabytes or we hire someone to operate it.',
          position: 'Managed service',
          confidence: 0.7,
        },
        {
          argument:
            'With the weekly exports restored into a test environment every month, my concern is met. A managed service.',
          position: 'Managed service',
          confidence: 0.64,
        },
      ],
    },
  ] satisfies ScriptedRound[],
  summary:
    'After three rounds every seat settled on a managed PostgreSQL service. The economist’s comparison (about 40 engineer-hours in the first year against a $200-a-month tier) moved the SRE once the team’s lack of production PostgreSQL experience was weighed. The skeptic’s condition, weekly logical exports restored monthly in a test environment and no provider-only extensions, was adopted by all, so leaving the provider stays possible.',
  verdict:
    'Use a managed PostgreSQL service with portable, regularly restored backups; revisit at a few hundred gigabytes or with a dedicated operator.',
};

/** Marks the seeded compression runs (their corpus seed); any number works, this one is the seed's. */
export const SEED_CORPUS_SEED = 20_260_101;

/** A suite: one generated corpus through every algorithm at a few levels. */
export const SEED_SUITE = {
  corpus: { kind: CorpusKind.LOGS, sizeBytes: 2 * 1024 * 1024 },
  runs: [
    { algorithm: CompressionAlgorithm.GZIP, level: 1 },
    { algorithm: CompressionAlgorithm.GZIP, level: 6 },
    { algorithm: CompressionAlgorithm.GZIP, level: 9 },
    { algorithm: CompressionAlgorithm.DEFLATE, level: 6 },
    { algorithm: CompressionAlgorithm.BROTLI, level: 5 },
    { algorithm: CompressionAlgorithm.BROTLI, level: 9 },
    { algorithm: CompressionAlgorithm.ZSTD, level: 3 },
    { algorithm: CompressionAlgorithm.ZSTD, level: 19 },
  ],
};

/** A single run outside the suite, executed by an agent (which must support the algorithm). */
export const SEED_AGENT_RUN = {
  agent: 'engineer' as SeedAgentKey,
  algorithm: CompressionAlgorithm.ZSTD,
  level: 9,
  corpus: { kind: CorpusKind.JSON, sizeBytes: 1024 * 1024 },
};
