import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

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
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
