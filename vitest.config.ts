import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import SlowestFirstSequencer from './test/support/sequencer.js';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

/**
 * The chaos runs: a whole cluster in network namespaces under a minute of
 * faults, with bounds on fencing and convergence. They run one at a time,
 * after the other files, with nothing else on the machine.
 */
const ALONE = ['test/chaos/chaos-run.test.ts', 'test/chaos/chaos-external-sentinel.test.ts', 'test/chaos/chaos-external-redis.test.ts'];

/**
 * Most files wait on servers, processes and timers far more than they
 * compute (a run keeps under half of one core busy): two files at a time even
 * on 2 cores, where Vitest's default (cores - 1) would run one.
 */
const WORKERS = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; tests run them against the source.
    alias: [
      { find: /^ringroute$/, replacement: src('index.ts') },
      { find: /^ringroute\/redis$/, replacement: src('adapters/redis/index.ts') },
      { find: /^ringroute\/nats$/, replacement: src('adapters/nats/index.ts') },
      { find: /^ringroute\/nginx$/, replacement: src('proxy/nginx/index.ts') },
      { find: /^ringroute\/haproxy$/, replacement: src('proxy/haproxy/index.ts') },
      { find: /^ringroute\/resty$/, replacement: src('proxy/resty/index.ts') },
      { find: /^ringroute\/sessions$/, replacement: src('sessions/index.ts') },
      { find: /^ringroute\/client$/, replacement: src('client/index.ts') },
      { find: /^ringroute\/metrics$/, replacement: src('metrics/index.ts') },
      { find: /^ringroute\/gateway$/, replacement: src('gateway/index.ts') },
    ],
  },
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
    // Longest files first, so no long file is left to run alone at the end.
    sequence: { sequencer: SlowestFirstSequencer },
    projects: [
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...ALONE] } },
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
