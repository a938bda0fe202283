// The worker entry used when pool.ts runs from TypeScript sources (under vitest): registers hooks that
// compile .ts on load, then hands each task to worker.ts. No top-level await, so that Node's require(esm),
// which piscina tries first, can load this file too.
import { register } from 'node:module';

register('./source-hooks.mjs', import.meta.url);
const worker = import('./worker.ts');

export default async function compressInWorker(task) {
  const { default: handler } = await worker;
  return handler(task);
}
