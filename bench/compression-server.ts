// Child process of bench/compression.ts: the Parley server under test (bench/support/server-child.ts), with
// the COMPRESSION_WORKERS the parent chose, so that its event loop, worker threads and CPU are its own.
import { serveBenchServer } from './support/server-child.js';

await serveBenchServer({});
