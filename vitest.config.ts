import { createRequire } from 'node:module';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC emits the decorator metadata type-graphql and MikroORM read (esbuild does not).
  plugins: [swc.vite({ module: { type: 'es6' } })],
  // One graphql instance, as under plain Node: vite would otherwise give our sources graphql's .mjs build
  // while libraries loaded by Node use its CommonJS build ("Cannot use GraphQLSchema from another realm").
  resolve: { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files share one PostgreSQL server but each gets its own database (see global-setup.ts).
    fileParallelism: true,
    maxWorkers: 2,
  },
});
