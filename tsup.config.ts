import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: ESM + CJS with type declarations for both.
    entry: { index: 'src/index.ts', redis: 'src/adapters/redis/index.ts', sessions: 'src/sessions/index.ts', client: 'src/client/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    // Shared chunks keep one RingError class across "ringroute" and "ringroute/redis".
    splitting: true,
    treeshake: true,
    external: ['ioredis'],
  },
  {
    // The `ringroute` command: ESM only (it reads import.meta.url) and one
    // file, since its Redis workers start this same file again.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    external: ['ioredis'],
  },
]);
