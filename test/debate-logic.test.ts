import { describe, expect, it } from 'vitest';
import { consensusScore, normalizePosition, positionChanges } from '../src/modules/debates/consensus.js';
import {
  buildModeratorPrompt,
  buildRepairPrompt,
  buildSummaryPrompt,
  buildTurnPrompt,
  fallbackSummary,
  TRANSCRIPT_BUDGET,
  type DebateForPrompt,
  type PromptInterjection,
  type PromptTurn,
} from '../src/modules/debates/debate-prompts.js';
import {
  ArgumentExtractor,
  parseModeratorDecision,
  parseSummary,
  parseTurnOutput,
} from '../src/modules/debates/turn-output.js';

const vote = (seat: number, position: string | null, confidence: number | null = 1) => ({
  seat,
  position,
  confidence,
});

describe('consensusScore', () => {
  it('is 1 when every seat holds the same position, however it is written', () => {
    expect(consensusScore([vote(1, 'Yes.', 0.9), vote(2, ' yes', 0.5), vote(3, 'YES', 0.7)])).toEqual({
      score: 1,
      leadingPosition: 'Yes.',
      supporters: [1, 2, 3],
    });
  });

  it('is the leading group’s share of the confidence weight', () => {
    const result = consensusScore([vote(1, 'yes', 0.8), vote(2, 'no', 0.8), vote(3, 'yes', 0.4)]);
    expect(result).toEqual({ score: 0.6, leadingPosition: 'yes', supporters: [1, 3] });
  });

  it('lets one confident seat outweigh two unsure ones', () => {
    const result = consensusScore([vote(1, 'yes', 0.2), vote(2, 'yes', 0.2), vote(3, 'no', 1)]);
    expect(result).toEqual({ score: 0.7143, leadingPosition: 'no', supporters: [3] });
  });

  it('clamps confidence to [0, 1] and counts an unknown confidence as 0.5', () => {
    expect(consensusScore([vote(1, 'yes', 5), vote(2, 'no', null)]).score).toBe(0.6667);
    expect(consensusScore([vote(1, 'yes', -3), vote(2, 'no', 0.5)])).toMatchObject({
      score: 1,
      leadingPosition: 'no',
    });
  });

  it('dilutes consensus with invalid turns', () => {
    expect(consensusScore([vote(1, 'yes'), vote(2, 'yes'), vote(3, null)])).toEqual({
      score: 0.8,
      leadingPosition: 'yes',
      supporters: [1, 2],
    });
    expect(consensusScore([vote(1, null), vote(2, null)])).toEqual({
      score: 0,
      leadingPosition: null,
      supporters: [],
    });
  });

  it('falls back to head counts when every confidence is 0', () => {
    expect(consensusScore([vote(1, 'no', 0), vote(2, 'yes', 0), vote(3, 'Yes', 0)])).toEqual({
      score: 0.6667,
      leadingPosition: 'yes',
      supporters: [2, 3],
    });
  });

  it('is 0 with no votes', () => {
    expect(consensusScore([])).toEqual({ score: 0, leadingPosition: null, supporters: [] });
  });

  it('breaks ties towards the group with the lowest seat, whatever the vote order', () => {
    const votes = [vote(3, 'no', 0.5), vote(2, 'maybe', 0.25), vote(1, 'yes', 0.5)];
    const expected = { score: 0.4, leadingPosition: 'yes', supporters: [1] };
    expect(consensusScore(votes)).toEqual(expected);
    expect(consensusScore([...votes].reverse())).toEqual(expected);
    // 0.1 + 0.2 is not exactly 0.3 in floating point; it is still a tie.
    expect(consensusScore([vote(4, 'a', 0.1), vote(2, 'b', 0.3), vote(3, 'a', 0.2)]).leadingPosition).toBe(
      'b',
    );
  });

  it('reports the leading position in the words of its lowest seat', () => {
    const result = consensusScore([vote(5, 'YES!'), vote(2, '"Yes"'), vote(9, 'no', 0.1)]);
    expect(result.leadingPosition).toBe('"Yes"');
    expect(result.supporters).toEqual([2, 5]);
  });
});

describe('normalizePosition', () => {
  it.each([
    ['Yes.', 'yes'],
    [' YES ', 'yes'],
    ['"yes"', 'yes'],
    ['**Yes**', 'yes'],
    ['yes!', 'yes'],
    ['“Option   B.”', 'option b'],
    ['Option\nB', 'option b'],
    ['(a)', 'a'],
    ['C++', 'c++'],
    ['?', '?'],
  ])('%j → %j', (input, expected) => {
    expect(normalizePosition(input)).toBe(expected);
  });
});

describe('positionChanges', () => {
  it('counts seats whose position differs from their own previous one', () => {
    const previous = [vote(1, 'yes'), vote(2, 'no'), vote(3, 'yes'), vote(5, null)];
    const current = [vote(1, 'Yes.'), vote(2, 'yes'), vote(3, null), vote(4, 'no'), vote(5, 'no')];
    // Seat 1 only reworded, seat 3 failed this round, seat 4 is new and seat 5 failed last round.
    expect(positionChanges(previous, current)).toBe(1);
    expect(positionChanges([], current)).toBe(0);
    expect(positionChanges(previous, [vote(1, 'no'), vote(2, 'yes'), vote(3, 'maybe')])).toBe(3);
  });
});

describe('parseTurnOutput', () => {
  const valid = { argument: '  Because.  ', position: ' yes ', confidence: 0.8, extra: [1] };

  it('accepts a JSON object, trimming text and ignoring extra fields', () => {
    expect(parseTurnOutput(`\n ${JSON.stringify(valid)} \n`)).toEqual({
      ok: true,
      value: { argument: 'Because.', position: 'yes', confidence: 0.8 },
    });
  });

  it('accepts a fenced block', () => {
    const expected = { ok: true, value: { argument: 'Because.', position: 'yes', confidence: 0.8 } };
    expect(parseTurnOutput('```json\n' + JSON.stringify(valid, null, 2) + '\n```')).toEqual(expected);
    expect(parseTurnOutput('  ```\n' + JSON.stringify(valid) + '```  ')).toEqual(expected);
  });

  it('accepts the bounds', () => {
    for (const confidence of [0, 1]) {
      expect(parseTurnOutput(JSON.stringify({ ...valid, confidence })).ok).toBe(true);
    }
    expect(parseTurnOutput(JSON.stringify({ ...valid, position: 'é'.repeat(200) })).ok).toBe(true);
  });

  const problem = (text: string) => {
    const parsed = parseTurnOutput(text);
    return parsed.ok ? 'accepted' : parsed.problem;
  };
  const withField = (field: string, value: unknown) => JSON.stringify({ ...valid, [field]: value });

  it('names what is wrong', () => {
    expect(problem('{"argument": "x", ')).toMatch(/^not JSON: /);
    expect(problem('Sure! Here is my answer')).toMatch(/^not JSON: /);
    expect(problem('   ')).toMatch(/empty/);
    expect(problem('[1, 2]')).toBe('expected a JSON object, got an array');
    expect(problem('null')).toBe('expected a JSON object, got null');
    expect(problem(JSON.stringify({ argument: 'a', confidence: 0.5 }))).toBe('position is missing');
    expect(problem(withField('argument', '   '))).toBe('argument is empty');
    expect(problem(withField('argument', 42))).toBe('argument must be a string');
    expect(problem(withField('position', 'x'.repeat(201)))).toMatch(
      /^position is longer than 200 characters/,
    );
    expect(problem(JSON.stringify({ argument: 'a', position: 'b' }))).toBe('confidence is missing');
  });

  it('is strict about confidence', () => {
    for (const confidence of ['0.8', 80, -0.1, 1.01, true]) {
      expect(problem(withField('confidence', confidence))).toMatch(
        /^confidence must be a number between 0 and 1/,
      );
    }
  });

  it('reports every problem at once', () => {
    expect(problem('{"confidence": 80}')).toBe(
      'argument is missing; position is missing; confidence must be a number between 0 and 1 (got 80)',
    );
  });
});

describe('parseModeratorDecision and parseSummary', () => {
  it('parses a moderator decision', () => {
    expect(parseModeratorDecision('{"conclude": true, "reason": " Converged. "}')).toEqual({
      ok: true,
      value: { conclude: true, reason: 'Converged.' },
    });
    expect(parseModeratorDecision('```json\n{"conclude": false, "reason": "Still moving"}\n```')).toEqual({
      ok: true,
      value: { conclude: false, reason: 'Still moving' },
    });
    expect(parseModeratorDecision('{"conclude": "yes", "reason": "r"}')).toEqual({
      ok: false,
      problem: 'conclude must be true or false',
    });
    expect(parseModeratorDecision('{"conclude": true}')).toEqual({ ok: false, problem: 'reason is missing' });
    expect(parseModeratorDecision('conclude')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not JSON/),
    });
  });

  it('parses a summary', () => {
    expect(parseSummary('{"summary": "They agreed.", "verdict": "yes", "x": 1}')).toEqual({
      ok: true,
      value: { summary: 'They agreed.', verdict: 'yes' },
    });
    expect(parseSummary(JSON.stringify({ summary: 's', verdict: 'v'.repeat(201) }))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^verdict is longer than 200/),
    });
    expect(parseSummary('{"verdict": "yes"}')).toEqual({ ok: false, problem: 'summary is missing' });
  });
});

describe('ArgumentExtractor', () => {
  const texts = [
    String.raw`{"argument": "Say \"hi\" \\ path\/to \n\ttab \r\b\f caf\u00e9 \ud83d\ude00 😀 end", "position": "yes", "confidence": 0.8}`,
    String.raw`{ "position": "the \"argument\": \"trap\"", "confidence": 0.5, "nested": {"argument": "no"}, "list": ["argument", {"argument": "no"}], "argument" : "real \u00E9\\" }`,
    String.raw`{"argu\u006dent":"escaped key \u2603","position":"x","confidence":1}`,
    '{\n  "argument": "",\n  "position": "empty",\n  "confidence": 0\n}',
  ];

  const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

  const run = (extractor: ArgumentExtractor, chunks: string[]) => {
    const outputs = chunks.map((chunk) => extractor.push(chunk));
    for (const output of outputs) expect(output).not.toMatch(loneSurrogate);
    return outputs.join('');
  };

  it.each(texts.map((text) => [text]))('streams %s exactly once at every split', (text) => {
    const expected = (JSON.parse(text) as { argument: string }).argument;
    const extractor = new ArgumentExtractor();
    for (let i = 0; i <= text.length; i += 1) {
      extractor.reset();
      expect(run(extractor, [text.slice(0, i), text.slice(i)])).toBe(expected);
    }
    for (let i = 0; i <= text.length; i += 1) {
      for (let j = i; j <= text.length; j += 3) {
        expect(run(new ArgumentExtractor(), [text.slice(0, i), text.slice(i, j), text.slice(j)])).toBe(
          expected,
        );
      }
    }
    expect(
      run(
        new ArgumentExtractor(),
        [...text].map((char) => char),
      ),
    ).toBe(expected);
  });

  it('emits progressively and stops at the closing quote', () => {
    const extractor = new ArgumentExtractor();
    expect(extractor.push('{"argument": "The sky')).toBe('The sky');
    expect(extractor.push(' is blue\\')).toBe(' is blue');
    expect(extractor.push('n because')).toBe('\n because');
    expect(extractor.push('", "position": "blue", "argument": "again"}')).toBe('');
    expect(extractor.push('{"argument": "another object"}')).toBe('');
  });

  it('ignores text around the object and starts over after reset', () => {
    const extractor = new ArgumentExtractor();
    expect(extractor.push('} Here: ```json\n{"argument": "fenced"}\n```')).toBe('fenced');
    extractor.reset();
    expect(extractor.push('{"argument": "again"}')).toBe('again');
  });
});

const debate: DebateForPrompt = {
  topic: 'Should the city build a new bridge?',
  maxRounds: 3,
  seats: [
    { seat: 2, agentName: 'Bob', stance: null },
    { seat: 1, agentName: 'Ada', stance: 'in favour' },
    { seat: 3, agentName: 'Cy', stance: null },
  ],
};
const [bob, ada, cy] = debate.seats as [
  DebateForPrompt['seats'][0],
  DebateForPrompt['seats'][0],
  DebateForPrompt['seats'][0],
];

const turn = (
  round: number,
  seat: number,
  position: string | null,
  confidence: number | null,
): PromptTurn => ({
  round,
  seat,
  agentName: debate.seats.find((s) => s.seat === seat)!.agentName,
  argument: `argument of seat ${seat} in round ${round}`,
  position,
  confidence,
  valid: position !== null,
});

const turns: PromptTurn[] = [
  turn(2, 1, 'yes', 0.9),
  turn(1, 3, null, null),
  turn(1, 1, 'yes', 0.8),
  turn(1, 2, 'no', 0.6),
];
const interjections: PromptInterjection[] = [
  { afterRound: 1, author: 'dana', content: 'What about the cost?' },
  { afterRound: 0, author: 'eve', content: 'Think about cyclists.' },
  { afterRound: 2, author: 'dana', content: 'Too late for round 2.' },
  { afterRound: 1, author: 'eve', content: 'And the river traffic.' },
];

const contentOf = (messages: { role: string; content: string }[], role: string) =>
  messages.find((message) => message.role === role)!.content;

describe('buildTurnPrompt', () => {
  const prompt = (seat: typeof ada, round: number, agentSystemPrompt: string | null = null) =>
    buildTurnPrompt({ debate, seat, agentSystemPrompt, round, turns, interjections });

  it('opens round 1 with the topic and the interjections made before it', () => {
    const messages = prompt(ada, 1, 'You are a careful civil engineer.');
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    const system = contentOf(messages, 'system');
    expect(system.startsWith('You are a careful civil engineer.\n\n')).toBe(true);
    expect(system).toContain('You are seat 1 of 3 (Ada)');
    expect(system).toContain('Your assigned stance: in favour.');
    expect(system).toContain('Answer ONLY with a JSON object');
    expect(contentOf(messages, 'user')).toBe(
      'Debate topic: Should the city build a new bridge?\n\n' +
        'Transcript so far:\n\nHuman interjection before round 1 (eve): Think about cyclists.\n\n' +
        'Round 1: give your opening turn.',
    );
  });

  it('shows a later seat the turns already given in the same round, but not its own', () => {
    const user = contentOf(prompt(cy, 1), 'user');
    expect(user).toContain('Round 1 — Seat 1 (Ada): yes (confidence 0.80)\nargument of seat 1 in round 1');
    expect(user).toContain('Round 1 — Seat 2 (Bob): no (confidence 0.60)');
    expect(user).not.toContain('Seat 3 (Cy)');
    expect(user).not.toContain('round 2');
    expect(user).toContain('Round 1: give your turn.');
  });

  it('shows round 2 the earlier answers, then the interjections that followed round 1', () => {
    const messages = prompt(bob, 2);
    const system = contentOf(messages, 'system');
    expect(system).toContain('You are seat 2 of 3 (Bob)');
    expect(system).not.toContain('Your assigned stance');
    expect(system).not.toContain('in favour');
    expect(contentOf(messages, 'user')).toBe(
      [
        'Debate topic: Should the city build a new bridge?',
        'Transcript so far:',
        'Human interjection before round 1 (eve): Think about cyclists.',
        'Round 1 — Seat 1 (Ada): yes (confidence 0.80)\nargument of seat 1 in round 1',
        'Round 1 — Seat 2 (Bob): no (confidence 0.60)\nargument of seat 2 in round 1',
        'Round 1 — Seat 3 (Cy): (no valid answer)',
        'Human interjection after round 1 (dana): What about the cost?',
        'Human interjection after round 1 (eve): And the river traffic.',
        'Round 2 — Seat 1 (Ada): yes (confidence 0.90)\nargument of seat 1 in round 2',
        "Round 2: give your turn. Consider the other agents' answers; you may change your position.",
      ].join('\n\n'),
    );
  });

  it('does not depend on the order turns arrive in', () => {
    const reversed = buildTurnPrompt({
      debate: { ...debate, seats: [...debate.seats].reverse() },
      seat: cy,
      agentSystemPrompt: null,
      round: 2,
      turns: [...turns].reverse(),
      interjections,
    });
    expect(reversed).toEqual(prompt(cy, 2));
  });

  it('reduces old rounds to positions when the transcript grows too long', () => {
    const long = (round: number, seat: number): PromptTurn => ({
      ...turn(round, seat, seat === 1 ? 'yes' : 'no', 0.5),
      argument: `r${round}s${seat} ` + 'x'.repeat(2_000),
    });
    const many = [1, 2, 3, 4, 5, 6].flatMap((round) => [1, 2, 3].map((seat) => long(round, seat)));
    const user = contentOf(
      buildTurnPrompt({
        debate: { ...debate, maxRounds: 10 },
        seat: ada,
        agentSystemPrompt: null,
        round: 7,
        turns: many,
        interjections: [{ afterRound: 1, author: 'eve', content: 'Keep it short.' }],
      }),
      'user',
    );
    expect(user.length).toBeLessThan(TRANSCRIPT_BUDGET + 500);
    expect(user).toContain('Debate topic: Should the city build a new bridge?');
    expect(user).toContain('Round 1 — Seat 2 (Bob): no (confidence 0.50)');
    expect(user).not.toContain('r1s2 ');
    expect(user).toContain('Human interjection after round 1 (eve): Keep it short.');
    expect(user).toContain(`r6s3 ${'x'.repeat(2_000)}`);
    expect(user).toContain(`r5s3 ${'x'.repeat(2_000)}`);
    expect(user).toContain('shown as positions only');
  });

  it('clips arguments when even the latest rounds alone are too long', () => {
    const huge = [1, 2, 3].map((seat) => ({ ...turn(1, seat, 'yes', 1), argument: 'y'.repeat(20_000) }));
    const user = contentOf(
      buildTurnPrompt({
        debate,
        seat: ada,
        agentSystemPrompt: null,
        round: 2,
        turns: huge,
        interjections: [],
      }),
      'user',
    );
    expect(user.length).toBeLessThan(TRANSCRIPT_BUDGET + 500);
    expect(user).toContain('Round 1 — Seat 3 (Cy): yes (confidence 1.00)\nyyy');
  });
});

describe('buildRepairPrompt', () => {
  it('replays the bad answer and asks for the JSON object again, naming the problem', () => {
    const previous = prompt();
    const repaired = buildRepairPrompt(previous, 'I think yes.', 'not JSON: Unexpected token I');
    expect(repaired.slice(0, previous.length)).toEqual(previous);
    expect(repaired.slice(previous.length - 1).map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(repaired.at(-2)!.content).toBe('I think yes.');
    const request = repaired.at(-1)!.content;
    expect(request).toContain('not JSON: Unexpected token I');
    expect(request).toContain('ONLY a valid JSON object');
    for (const field of ['"argument"', '"position"', '"confidence"']) expect(request).toContain(field);
    expect(previous).toHaveLength(2);
  });

  function prompt() {
    return buildTurnPrompt({
      debate,
      seat: ada,
      agentSystemPrompt: null,
      round: 1,
      turns: [],
      interjections: [],
    });
  }
});

describe('moderator and summary prompts', () => {
  it('asks the moderator whether to conclude after the round, with what followed it', () => {
    const messages = buildModeratorPrompt({
      debate,
      moderatorSystemPrompt: 'Be strict.',
      round: 2,
      turns,
      interjections,
      consensus: 0.6667,
    });
    expect(
      contentOf(messages, 'system').startsWith('Be strict.\n\nYou moderate a debate among 3 AI agents'),
    ).toBe(true);
    const user = contentOf(messages, 'user');
    expect(user).toContain('Round 2 — Seat 1 (Ada): yes (confidence 0.90)');
    expect(user).toContain('Human interjection after round 2 (dana): Too late for round 2.');
    expect(user).toContain(
      'Round 2 of 3 is complete. Confidence-weighted consensus on the leading position: 67%.',
    );
  });

  it('asks for a summary and a verdict, judging when there is no consensus', () => {
    const messages = buildSummaryPrompt({
      debate,
      moderatorSystemPrompt: null,
      turns,
      interjections,
      consensus: 0.5,
      reason: 'max rounds reached',
    });
    expect(contentOf(messages, 'system')).toContain('act as the judge');
    expect(contentOf(messages, 'user')).toContain('The debate ended after 2 rounds: max rounds reached.');
    expect(contentOf(messages, 'user')).toContain('consensus on the leading position: 50%');
  });
});

describe('fallbackSummary', () => {
  const finalTurns = [turn(3, 2, 'No', 0.9), turn(3, 1, 'yes', 0.8), turn(2, 2, 'maybe', 0.1)];
  const input = { debate, finalTurns, consensus: 0.6667, reason: 'max rounds reached', rounds: 3 };

  it('gives the confidence-weighted leading position and every seat’s final answer', () => {
    expect(fallbackSummary(input)).toEqual({
      verdict: 'No',
      summary:
        'After 3 rounds (max rounds reached) the debate reached 67% consensus. Leading position: No. ' +
        'Seat 1 (Ada): yes (0.80); Seat 2 (Bob): No (0.90); Seat 3 (Cy): no valid answer.',
    });
  });

  it('does not depend on input order', () => {
    const shuffled = {
      ...input,
      debate: { ...debate, seats: [...debate.seats].reverse() },
      finalTurns: [...finalTurns].reverse(),
    };
    expect(fallbackSummary(shuffled)).toEqual(fallbackSummary(input));
  });

  it('still gives a verdict when no seat answered', () => {
    const result = fallbackSummary({
      ...input,
      finalTurns: [turn(1, 1, null, null)],
      consensus: 0,
      rounds: 1,
    });
    expect(result.verdict).toBe('No verdict: no seat gave a valid answer');
    expect(result.summary).toBe(
      'After 1 round (max rounds reached) the debate reached 0% consensus. No seat gave a valid answer. ' +
        'Seat 1 (Ada): no valid answer; Seat 2 (Bob): no valid answer; Seat 3 (Cy): no valid answer.',
    );
  });
});
