import { copyFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// No source maps in the package: they would point at src/, which is not
// shipped, and they were two thirds of the installed size.
export default defineConfig([
  {
    // The library: ESM + CJS with type declarations for both. Each entry is
    // named after its subpath: `ringroute/<name>` is dist/<name>.{js,cjs,d.ts,d.cts}
    // (the root is `index`). package.json `typesVersions` relies on that to
    // resolve every subpath under TypeScript's node10 resolution, so a new
    // subpath needs only its entry here and its `exports` entry.
    entry: {
      index: 'src/index.ts',
      redis: 'src/adapters/redis/index.ts',
      nats: 'src/adapters/nats/index.ts',
      sessions: 'src/sessions/index.ts',
      client: 'src/client/index.ts',
      nginx: 'src/proxy/nginx/index.ts',
      haproxy: 'src/proxy/haproxy/index.ts',
      resty: 'src/proxy/resty/index.ts',
      envoy: 'src/proxy/envoy/index.ts',
      metrics: 'src/metrics/index.ts',
      gateway: 'src/gateway/index.ts',
      'socket.io': 'src/socketio/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: false,
    target: 'node20',
    // Shared chunks keep one RingError class across "ringroute" and "ringroute/redis".
    splitting: true,
    treeshake: true,
    external: ['ioredis', 'prom-client', 'jose', 'socket.io-adapter', 'socket.io', '@nats-io/jetstream', '@nats-io/kv', '@nats-io/transport-node'],
    // The bench's JSON report schema, exported as "ringroute/report.schema.json".
    onSuccess: async () => copyFileSync('src/cli/report.schema.json', 'dist/report.schema.json'),
  },
  {
    // The `ringroute` command: ESM only (it reads import.meta.url) and one
    // file, since its Redis workers start this same file again.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    external: ['ioredis'],
  },
]);
