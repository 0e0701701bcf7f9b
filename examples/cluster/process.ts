/**
 * Entry point of one OS process in Redis mode: a gateway or an app node,
 * with its own ioredis client, RedisRingStore, RedisMembership and Redis
 * pub/sub transport. Started by redis-cluster.ts with the settings as JSON in
 * argv[2] and the secrets in its environment (`RINGROUTE_SECRET`,
 * `RINGROUTE_ADMIN_TOKEN`, `RINGROUTE_REDIS_URL`: never on a command line,
 * which other local users can read); reports `{ type: 'ready', url, adminUrl }` over IPC, stops gracefully on
 * `{ type: 'stop' }` or SIGTERM, and exits if its parent goes away.
 */
import { Redis } from 'ioredis';
import { RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';
import { AppNode } from './app-node.js';
import { Gateway } from './gateway.js';
import type { GatewayLimits } from 'ringroute/gateway';
import type { Mode, Strategy } from './protocol.js';
import { startProcessSampler } from './process-stats.js';
import { redisOptions } from './redis-url.js';

export interface ProcessConfig {
  readonly role: 'gateway' | 'node';
  readonly id: string;
  readonly prefix: string;
  readonly strategy: Strategy;
  readonly mode: Mode;
  readonly graceMs: number;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly insecure?: boolean;
  readonly limits?: GatewayLimits;
  /** Nodes: pace of the "moved" closes. */
  readonly closesPerSecond?: number;
  readonly port?: number;
  readonly adminPort?: number;
  /** Stop without waiting for sessions to move (the whole cluster is shutting down). */
  readonly shutdown?: boolean;
}

export type ProcessReport = { type: 'ready'; url: string; adminUrl?: string } | { type: 'failed'; error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const report = (message: ProcessReport): void => void process.send?.(message);

async function main(): Promise<void> {
  startProcessSampler(); // peak descriptors from the start, not from the first /stats
  const redisUrl = process.env.RINGROUTE_REDIS_URL ?? '';
  const redis = new Redis(redisUrl, redisOptions(redisUrl));
  redis.on('error', (error: Error) => log(`[${config.id}] redis: ${error.message}`));
  const onError = (error: Error): void => log(`[${config.id}] ${error.message}`);
  const store = new RedisRingStore({ redis, prefix: config.prefix });
  const membership = new RedisMembership({ redis, prefix: config.prefix, ttlMs: config.ttlMs, heartbeatMs: config.heartbeatMs, onError });
  const transport = new RedisTransport({ redis, prefix: config.prefix });
  const adapters = { store, membership, transport, log };
  const auth = {
    adminToken: process.env.RINGROUTE_ADMIN_TOKEN ?? '',
    ...(config.insecure === true ? { insecure: true } : { secret: process.env.RINGROUTE_SECRET ?? '' }),
  };
  const part =
    config.role === 'node'
      ? await AppNode.start({ id: config.id, ...adapters, ...auth, strategy: config.strategy, ...(config.closesPerSecond !== undefined ? { maxClosesPerSecond: config.closesPerSecond } : {}) })
      : await Gateway.start({
          id: config.id, ...adapters, ...auth, mode: config.mode, graceMs: config.graceMs, ...(config.limits ? { limits: config.limits } : {}),
          ...(config.port !== undefined ? { port: config.port } : {}), ...(config.adminPort !== undefined ? { adminPort: config.adminPort } : {}),
        });

  let stopping: Promise<void> | undefined;
  const stop = (whole = false): Promise<void> =>
    (stopping ??= (async () => {
      await (part instanceof AppNode ? (whole ? part.shutdown() : part.stop()) : part.close()).catch(onError);
      await membership.close().catch(onError);
      await store.close().catch(onError);
      await redis.quit().catch(() => redis.disconnect());
      process.exit(0);
    })());
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') void stop();
    if (message.type === 'shutdown') void stop(true);
    if (message.type === 'drain' && part instanceof Gateway) void part.drain().then(() => process.send?.({ type: 'drained' }));
  });
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group: the parent orders the shutdown
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop()); // the parent died: never linger
  report({ type: 'ready', url: part.url, adminUrl: part.adminUrl });
}

main().catch((error: unknown) => {
  report({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
