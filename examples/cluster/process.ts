/**
 * Entry point of one OS process in Redis mode: a gateway or an app node,
 * with its own ioredis client, RedisRingStore, RedisMembership and Redis
 * pub/sub transport. Started by redis-cluster.ts with the settings as JSON in
 * argv[2] and the secrets in its environment (`RINGROUTE_SECRET`,
 * `RINGROUTE_ADMIN_TOKEN`, `RINGROUTE_REDIS_URL`: never on a command line,
 * which other local users can read; or `RINGROUTE_SENTINELS`, `host:port`
 * pairs separated by commas, with `RINGROUTE_SENTINEL_NAME`, for a
 * Sentinel-managed primary, and optionally `RINGROUTE_SENTINEL_NATMAP`,
 * `RINGROUTE_SENTINEL_PASSWORD` and `RINGROUTE_REDIS_PASSWORD`, see
 * {@link redisClient}); reports `{ type: 'ready', url, adminUrl }` over IPC, stops gracefully on
 * `{ type: 'stop' }` or SIGTERM, and exits if its parent goes away.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { Redis } from 'ioredis';
import { RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';
import { TracingTransport } from '../chaos/trace.js';
import { AppNode, type OwnershipEvent } from './app-node.js';
import { Gateway } from './gateway.js';
import type { GatewayLimits } from 'ringroute/gateway';
import type { Mode, Strategy } from './protocol.js';
import { startProcessSampler } from './process-stats.js';
import { redisOptions } from './redis-url.js';
import { followSentinelSwitches } from './sentinel-switch.js';

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
  /** Address the part listens on. @default '127.0.0.1' */
  readonly host?: string;
  readonly port?: number;
  readonly adminPort?: number;
  /**
   * Nodes: a file this node appends one line to for each attach, close,
   * fence and unfence (`<ms since the epoch> a|c|f|u [user]`), written
   * synchronously so a SIGKILL loses none (examples/chaos).
   */
  readonly ownershipLog?: string;
  /** A file to trace every transport message to (examples/chaos `--trace`). */
  readonly traceFile?: string;
  /** Stop without waiting for sessions to move (the whole cluster is shutting down). */
  readonly shutdown?: boolean;
}

export type ProcessReport = { type: 'ready'; url: string; adminUrl?: string } | { type: 'failed'; error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const report = (message: ProcessReport): void => void process.send?.(message);

async function main(): Promise<void> {
  startProcessSampler(); // peak descriptors from the start, not from the first /stats
  const redis = redisClient();
  redis.on('error', (error: Error) => log(`[${config.id}] redis: ${error.message}`));
  // A part that starts while its store fails over (Sentinel promoting a replica) waits for it, up to 20 s,
  // instead of failing its start and being started again from scratch by its supervisor.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if (await redis.ping().then(() => true, () => false)) break;
  }
  const onError = (error: Error): void => log(`[${config.id}] ${error.message}`);
  const store = new RedisRingStore({ redis, prefix: config.prefix });
  const membership = new RedisMembership({ redis, prefix: config.prefix, ttlMs: config.ttlMs, heartbeatMs: config.heartbeatMs, onError });
  const redisTransport = new RedisTransport({ redis, prefix: config.prefix });
  // The chaos runner's --trace: every publication and every message heard, to follow one message's hops afterwards.
  const transport = config.traceFile !== undefined ? new TracingTransport(redisTransport, config.traceFile) : redisTransport;
  const adapters = { store, membership, transport, log };
  const auth = {
    adminToken: process.env.RINGROUTE_ADMIN_TOKEN ?? '',
    ...(config.insecure === true ? { insecure: true } : { secret: process.env.RINGROUTE_SECRET ?? '' }),
  };
  const address = {
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}), ...(config.adminPort !== undefined ? { adminPort: config.adminPort } : {}),
  };
  const part =
    config.role === 'node'
      ? await AppNode.start({
          id: config.id, ...adapters, ...auth, ...address, strategy: config.strategy,
          ...(config.closesPerSecond !== undefined ? { maxClosesPerSecond: config.closesPerSecond } : {}),
          ...(config.ownershipLog !== undefined ? { onOwnership: ownershipWriter(config.ownershipLog) } : {}),
        })
      : await Gateway.start({
          id: config.id, ...adapters, ...auth, ...address, ...(config.host !== undefined ? { adminHost: config.host } : {}),
          mode: config.mode, graceMs: config.graceMs, ...(config.limits ? { limits: config.limits } : {}),
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

/**
 * The part's Redis client: a Sentinel-managed primary when `RINGROUTE_SENTINELS` is set, else `RINGROUTE_REDIS_URL`.
 * With Sentinels, `RINGROUTE_SENTINEL_PASSWORD` is the Sentinels' password and `RINGROUTE_REDIS_PASSWORD` the
 * servers' (ioredis `sentinelPassword`, `password`), and `RINGROUTE_SENTINEL_NATMAP` maps the addresses the
 * Sentinels name (primary, replicas, other Sentinels) to the ones this process reaches them at (ioredis `natMap`):
 * inline JSON, `{"127.0.0.1:6379":{"host":"10.0.0.2","port":40001}}`, or the path of a file holding that JSON,
 * read again whenever an address is missing from it (the chaos runner adds a relay for each address that shows up).
 */
function redisClient(): Redis {
  const sentinels = process.env.RINGROUTE_SENTINELS;
  if (sentinels !== undefined && sentinels !== '') {
    const natMap = sentinelNatMap(process.env.RINGROUTE_SENTINEL_NATMAP);
    const sentinelPassword = process.env.RINGROUTE_SENTINEL_PASSWORD;
    const password = process.env.RINGROUTE_REDIS_PASSWORD;
    const addresses = sentinels.split(',').map((pair) => {
      const at = pair.lastIndexOf(':');
      return { host: pair.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(pair.slice(at + 1)) };
    });
    const name = process.env.RINGROUTE_SENTINEL_NAME ?? 'mymaster';
    const redis = new Redis({
      sentinels: addresses, name,
      ...(natMap !== undefined ? { natMap } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(password ? { password } : {}),
      // Bounded calls while the primary is gone, and quick retries: a fail-over takes a second or two.
      maxRetriesPerRequest: 2, commandTimeout: 1000, sentinelRetryStrategy: () => 100, retryStrategy: () => 100,
    });
    // Off the old primary as soon as a Sentinel announces the new one, not when Sentinel demotes it seconds later (sentinel-switch.ts).
    followSentinelSwitches(redis, { sentinels: addresses, name, ...(sentinelPassword ? { sentinelPassword } : {}) });
    return redis;
  }
  const redisUrl = process.env.RINGROUTE_REDIS_URL ?? '';
  return new Redis(redisUrl, redisOptions(redisUrl));
}

type NatTarget = { host: string; port: number };

/** `RINGROUTE_SENTINEL_NATMAP` as ioredis's `natMap`: inline JSON, or a JSON file read again on each miss. */
function sentinelNatMap(value: string | undefined): ((key: string) => NatTarget | null) | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parse = (json: string): Record<string, NatTarget> => {
    const map = JSON.parse(json) as unknown;
    if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error('RINGROUTE_SENTINEL_NATMAP: not a JSON object');
    return map as Record<string, NatTarget>;
  };
  if (value.trim().startsWith('{')) {
    const map = parse(value);
    return (key) => map[key] ?? null;
  }
  let map: Record<string, NatTarget> = {};
  const reload = (): void => {
    try {
      map = parse(readFileSync(value, 'utf8'));
    } catch (error) {
      log(`[${config.id}] RINGROUTE_SENTINEL_NATMAP ${value}: ${(error as Error).message}`);
    }
  };
  reload();
  return (key) => {
    if (map[key] === undefined) reload();
    return map[key] ?? null;
  };
}

/** Appends each ownership event to `file` at once (writeSync: a SIGKILL right after an attach still leaves its line). */
function ownershipWriter(file: string): (event: OwnershipEvent) => void {
  const fd = openSync(file, 'a');
  process.once('exit', () => closeSync(fd));
  const code = { attach: 'a', close: 'c', fence: 'f', unfence: 'u' } as const;
  return (event) => {
    const at = (performance.timeOrigin + performance.now()).toFixed(1);
    writeSync(fd, `${at} ${code[event.kind]}${'user' in event ? ` ${event.user}` : ''}\n`);
  };
}

main().catch((error: unknown) => {
  report({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
