// Node module hooks that let a worker thread run this folder's TypeScript sources directly, the way
// vitest does for its own thread: `./x.js` imports resolve to `./x.ts` when only the source exists, and
// `.ts` files have their types removed by sucrase on load. Used only when no compiled worker.js sits beside
// pool.ts, i.e. under vitest; the built server never loads this file.
//
// Sucrase, not SWC: it is plain JavaScript, so every worker's hooks thread can load it at once. Loading
// @swc/core's native addon from several threads at the same moment crashed the process. Sucrase emits no
// decorator metadata, which code that runs in the worker does not use, and keeps line numbers as they
// are, so stack traces point at the right source lines without a source map.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'sucrase';

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent?.endsWith('.ts') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const js = new URL(specifier, parent);
    const ts = new URL(specifier.replace(/\.js$/, '.ts'), parent);
    if (!existsSync(js) && existsSync(ts)) return { url: ts.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const filePath = fileURLToPath(url);
  const { code } = transform(await readFile(filePath, 'utf8'), {
    transforms: ['typescript'],
    disableESTransforms: true,
    filePath,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
