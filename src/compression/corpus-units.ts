import { FIRST_NAMES, LAST_NAMES, METHODS, ROUTES, SERVICES, TAGS } from './corpus-vocabulary.js';
import { Clock, latin1, SentenceWriter, type Writer } from './corpus-writer.js';
import type { Prng } from './prng.js';

/** Writes one unit (a sentence, a log line, a record) of a corpus kind. */
export type UnitWriter = (w: Writer) => void;

/** No unit is longer, so one always fits when this much room is left. */
export const MAX_UNIT_BYTES = 1024;

// 2024-01-01T00:00:00Z; each seed starts at some moment in the 300 days after it.
const EPOCH_MS = 1_704_067_200_000;
const DAY_MS = 86_400_000;

function startMs(prng: Prng): number {
  return EPOCH_MS + (prng.next() % 300) * DAY_MS + (prng.next() % DAY_MS);
}

export function textUnit(prng: Prng): UnitWriter {
  const sentences = new SentenceWriter(prng);
  return (w) => {
    sentences.write(w, 5, 16);
    // About one sentence in eight ends a paragraph.
    if ((prng.next() & 7) === 0) {
      w.byte(0x0a);
      w.byte(0x0a);
    } else {
      w.byte(0x20);
    }
  };
}

const LEVELS = ['INFO ', 'DEBUG', 'WARN ', 'ERROR'].map(latin1);
const SERVICE_TAGS = SERVICES.map((s) => latin1(` [${s}] req=`));
const SERVICE_NAMES = SERVICES.map(latin1);
const ROUTE_BYTES = ROUTES.map(latin1);
const METHOD_BYTES = METHODS.map((m) => latin1(`${m} `));
const L = {
  ms: latin1('ms'),
  cacheHit: latin1('cache hit key=user:'),
  ttl: latin1(' ttl=300s'),
  slow: latin1('slow request '),
  took: latin1(' took '),
  threshold: latin1('ms (threshold 500ms)'),
  upstream: latin1('upstream '),
  failed: latin1(' failed: connection reset after '),
  attempt: latin1('ms attempt='),
};

export function logUnit(prng: Prng): UnitWriter {
  const clock = new Clock(startMs(prng));
  return (w) => {
    const r = prng.next();
    const id = prng.next();
    clock.advance(r & 0xff);
    clock.write(w, true);
    w.byte(0x20);
    const roll = (r >>> 8) & 0x7f; // 0..127: INFO 70%, DEBUG 15%, WARN 10%, ERROR 5%
    const level = roll < 90 ? 0 : roll < 109 ? 1 : roll < 122 ? 2 : 3;
    w.bytes(LEVELS[level]!);
    w.bytes(SERVICE_TAGS[(r >>> 16) % SERVICE_TAGS.length]!);
    w.hex(id, 8);
    w.byte(0x20);
    const route = ROUTE_BYTES[(r >>> 20) % ROUTE_BYTES.length]!;
    const duration = 1 + ((id >>> 3) % (level >= 2 ? 5000 : 400));
    if (level === 0) {
      w.bytes(METHOD_BYTES[(r >>> 24) & 7]!);
      w.bytes(route);
      w.byte(0x2f);
      w.uint(id % 50_000);
      w.bytes(latin1Status((r >>> 27) & 31));
      w.uint(duration);
      w.bytes(L.ms);
    } else if (level === 1) {
      w.bytes(L.cacheHit);
      w.uint(id % 50_000);
      w.bytes(L.ttl);
    } else if (level === 2) {
      w.bytes(L.slow);
      w.bytes(route);
      w.bytes(L.took);
      w.uint(500 + duration);
      w.bytes(L.threshold);
    } else {
      w.bytes(L.upstream);
      w.bytes(SERVICE_NAMES[(r >>> 24) % SERVICE_NAMES.length]!);
      w.bytes(L.failed);
      w.uint(duration);
      w.bytes(L.attempt);
      w.uint(1 + ((r >>> 28) & 3));
    }
    w.byte(0x0a);
  };
}

const STATUSES = [' 200 ', ' 201 ', ' 204 ', ' 304 ', ' 400 ', ' 404 ', ' 500 '].map(latin1);
/** Mostly 200s: 32 slots. */
function latin1Status(slot: number): Uint8Array {
  return STATUSES[
    slot < 24 ? 0 : slot < 27 ? 1 : slot < 28 ? 2 : slot < 29 ? 3 : slot < 30 ? 4 : slot < 31 ? 5 : 6
  ]!;
}

const USERS = FIRST_NAMES.flatMap((first) =>
  LAST_NAMES.map((last) =>
    latin1(`"user":{"name":"${first} ${last}","email":"${first.toLowerCase()}.${last.toLowerCase()}`),
  ),
);
const TAG_BYTES = TAGS.map((t) => latin1(`"${t}"`));
const J = {
  id: latin1('{"id":'),
  requestId: latin1(',"requestId":"'),
  afterRequestId: latin1('",'),
  email: latin1('@example.com"},"active":'),
  yes: latin1('true'),
  no: latin1('false'),
  score: latin1(',"score":'),
  tags: latin1(',"tags":['),
  createdAt: latin1('],"createdAt":"'),
  message: latin1('","message":"'),
  end: latin1('"}'),
  separator: latin1(',\n'),
};

export function jsonUnit(prng: Prng): UnitWriter {
  const clock = new Clock(startMs(prng));
  const message = new SentenceWriter(prng);
  let id = 1 + (prng.next() % 100_000);
  let first = true;
  return (w) => {
    const r = prng.next();
    if (!first) w.bytes(J.separator);
    first = false;
    w.bytes(J.id);
    w.uint(id++);
    w.bytes(J.requestId);
    w.hex(prng.next(), 8);
    w.hex(prng.next(), 8);
    w.bytes(J.afterRequestId);
    w.bytes(USERS[r % USERS.length]!);
    w.uint((r >>> 9) & 127);
    w.bytes(J.email);
    w.bytes((r >>> 16) % 5 === 0 ? J.no : J.yes);
    w.bytes(J.score);
    const score = (r >>> 19) % 10_000;
    w.uint(Math.floor(score / 100));
    w.byte(0x2e);
    w.padded(score % 100, 2);
    w.bytes(J.tags);
    const tags = 1 + ((r >>> 14) % 3);
    for (let i = 0; i < tags; i++) {
      if (i > 0) w.byte(0x2c);
      w.bytes(TAG_BYTES[(prng.next() >>> 8) % TAG_BYTES.length]!);
    }
    w.bytes(J.createdAt);
    clock.advance(prng.next() % 60_000);
    clock.write(w, false);
    w.bytes(J.message);
    message.write(w, 3, 10);
    w.bytes(J.end);
  };
}
