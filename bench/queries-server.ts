// Child process of bench/queries.ts: the Parley server under test (bench/support/server-child.ts) on the
// database the parent prepared (BENCH_DATABASE_URL), alone in its process so that its CPU is its own.
import { serveBenchServer } from './support/server-child.js';

await serveBenchServer({});
