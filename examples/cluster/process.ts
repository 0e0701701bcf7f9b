/**
 * Entry point of one OS process in Redis mode: a gateway or an app node,
 * with its own ioredis client, RedisRingStore, RedisMembership and Redis
 * pub/sub transport. Started by redis-cluster.ts with the settings as JSON in
 * argv[2]; reports `{ type: 'ready', url }` over IPC, stops gracefully on
 * `{ type: 'stop' }` or SIGTERM, and exits if its parent goes away.
 */
import { Redis } from 'ioredis';
import { RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';
import { AppNode } from './app-node.js';
import { Gateway } from './gateway.js';
import type { Mode, Strategy } from './protocol.js';

export interface ProcessConfig {
  readonly role: 'gateway' | 'node';
  readonly id: string;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly strategy: Strategy;
  readonly mode: Mode;
  readonly graceMs: number;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
}

export type ProcessReport = { type: 'ready'; url: string } | { type: 'failed'; error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const report = (message: ProcessReport): void => void process.send?.(message);

async function main(): Promise<void> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', (error: Error) => log(`[${config.id}] redis: ${error.message}`));
  const onError = (error: Error): void => log(`[${config.id}] ${error.message}`);
  const store = new RedisRingStore({ redis, prefix: config.prefix });
  const membership = new RedisMembership({ redis, prefix: config.prefix, ttlMs: config.ttlMs, heartbeatMs: config.heartbeatMs, onError });
  const transport = new RedisTransport({ redis, prefix: config.prefix });
  const adapters = { store, membership, transport, log };
  const part =
    config.role === 'node'
      ? await AppNode.start({ id: config.id, ...adapters, strategy: config.strategy })
      : await Gateway.start({ id: config.id, ...adapters, mode: config.mode, graceMs: config.graceMs });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await (part instanceof AppNode ? part.stop() : part.close()).catch(onError);
      await membership.close().catch(onError);
      await store.close().catch(onError);
      await redis.quit().catch(() => redis.disconnect());
      process.exit(0);
    })());
  process.on('message', (message: { type?: string }) => void (message.type === 'stop' && stop()));
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop()); // the parent died: never linger
  report({ type: 'ready', url: part.url });
}

main().catch((error: unknown) => {
  report({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
