import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', redis: 'src/redis/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Shared chunks keep one RingError class across "ringroute" and "ringroute/redis".
  splitting: true,
  treeshake: true,
  external: ['ioredis'],
});
