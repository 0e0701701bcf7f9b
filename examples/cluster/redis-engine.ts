/**
 * The Redis engine (engine.ts): RedisRingStore, RedisMembership and
 * RedisTransport on one ioredis client per process. `--redis URL` is one
 * Redis; `--redis URL,URL,...` a Redis Cluster, on an ioredis `Cluster`
 * client, where RedisTransport uses sharded pub/sub (`SPUBLISH`, its default
 * on a Cluster) and every key of a run carries the hash tag `{prefix}`, so
 * the ring and membership scripts find their keys in one slot. A part
 * process may instead get a Sentinel-managed primary in its environment
 * (examples/chaos). Every key of a run starts with `{prefix}`.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';
import type { Engine, EngineConnection } from './engine.js';
import { redactUrl, redisClusterTarget, redisOptions } from './redis-url.js';
import { followSentinelSwitches } from './sentinel-switch.js';
import { credentialsFromEnv } from './sentinel-credentials.js';

type Client = Redis | Cluster;

/** The engine of `--redis`: one URL, or a Redis Cluster's URLs separated by commas (validated by {@link redisClusterTarget}). */
export function redisEngine(value: string): Engine {
  const target = redisClusterTarget(value);
  if (typeof target === 'string') throw new Error(target);
  const label = target === null ? `Redis ${redactUrl(value)}` : `Redis Cluster ${redactUrl(value)}`;
  const make = (): Client => (target === null ? new Redis(value, redisOptions(value)) : new Cluster([...target.nodes], { redisOptions: { ...target.redisOptions } }));
  return engineOn(make, label, { RINGROUTE_REDIS_URL: value });
}

/**
 * The engine of a part process, from its environment: a Sentinel-managed
 * primary when `RINGROUTE_SENTINELS` is set (`host:port` pairs separated by
 * commas, with `RINGROUTE_SENTINEL_NAME`), else `RINGROUTE_REDIS_URL` (one
 * URL, or a Redis Cluster's URLs separated by commas). With Sentinels,
 * `RINGROUTE_SENTINEL_USERNAME` and `RINGROUTE_SENTINEL_PASSWORD` are the
 * Sentinels' ACL user and password, `RINGROUTE_REDIS_USERNAME` and
 * `RINGROUTE_REDIS_PASSWORD` the servers' (sentinel-credentials.ts), and `RINGROUTE_SENTINEL_NATMAP` maps the addresses the
 * Sentinels name (primary, replicas, other Sentinels) to the ones this
 * process reaches them at (ioredis `natMap`): inline JSON,
 * `{"127.0.0.1:6379":{"host":"10.0.0.2","port":40001}}`, or the path of a
 * file holding that JSON, read again whenever an address is missing from it
 * (the chaos runner adds a relay for each address that shows up).
 */
export function redisEngineFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): Engine {
  const sentinels = env.RINGROUTE_SENTINELS;
  if (sentinels === undefined || sentinels === '') return redisEngine(env.RINGROUTE_REDIS_URL ?? '');
  const make = (): Client => {
    const natMap = sentinelNatMap(env.RINGROUTE_SENTINEL_NATMAP, log);
    const credentials = credentialsFromEnv(env);
    const addresses = sentinels.split(',').map((pair) => {
      const at = pair.lastIndexOf(':');
      return { host: pair.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(pair.slice(at + 1)) };
    });
    const name = env.RINGROUTE_SENTINEL_NAME ?? 'mymaster';
    const redis = new Redis({
      sentinels: addresses, name,
      ...(natMap !== undefined ? { natMap } : {}),
      ...credentials,
      // Bounded calls while the primary is gone, and quick retries: a fail-over takes a second or two.
      maxRetriesPerRequest: 2, commandTimeout: 1000, sentinelRetryStrategy: () => 100, retryStrategy: () => 100,
    });
    // Off the old primary as soon as a Sentinel announces the new one, not when Sentinel demotes it seconds later (sentinel-switch.ts).
    followSentinelSwitches(redis, { sentinels: addresses, name, ...credentials });
    return redis;
  };
  return engineOn(make, `Redis (Sentinels ${sentinels})`, {});
}

function engineOn(make: () => Client, label: string, env: Readonly<Record<string, string>>): Engine {
  return {
    kind: 'redis',
    label,
    env,
    async connect({ name, prefix, waitMs, log }): Promise<EngineConnection> {
      const redis = make();
      redis.on('error', (error: Error) => log?.(`[${name}] redis: ${error.message}`));
      try {
        await answered(redis, waitMs, label);
        if (!(redis instanceof Cluster) && (await clusterEnabled(redis))) {
          // A plain client on a Cluster node would be answered MOVED for most keys and channels.
          throw new Error(`${label} is a node of a Redis Cluster: give --redis two or more of its nodes' URLs, separated by commas`);
        }
      } catch (error) {
        redis.disconnect();
        throw error;
      }
      return {
        store: () => new RedisRingStore({ redis, prefix }),
        membership: (options) => new RedisMembership({ redis, prefix, ...options }),
        // Sharded pub/sub (SPUBLISH, SSUBSCRIBE) by default on a Cluster: RedisTransport's `sharded` follows `isCluster`.
        transport: () => new RedisTransport({ redis, prefix }),
        close: async () => {
          await redis.quit().catch(() => redis.disconnect());
        },
      };
    },
    async clean(prefix) {
      const redis = make();
      redis.on('error', () => undefined); // the calls below reject with it
      try {
        await answered(redis, 5000, label); // a Cluster knows its masters once connected
        return await deleteKeys(redis, prefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** Resolves once `redis` answers a PING; rejects with the last failure after `waitMs`. */
async function answered(redis: Client, waitMs: number, label: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  let last = 'no answer';
  // A PING waits in the offline queue while ioredis reconnects: the connection's own error says why, its rejection only that it gave up.
  let connectionError: string | undefined;
  const onError = (error: Error): void => void (connectionError = error.message);
  redis.on('error', onError);
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), Math.max(1, deadline - Date.now()))));
      try {
        await Promise.race([redis.ping(), timeout]);
        return;
      } catch (error) {
        last = (error as Error).message;
      } finally {
        clearTimeout(timer);
      }
      if (Date.now() + 200 >= deadline) throw new Error(`${label} did not answer within ${(waitMs / 1000).toFixed(0)} s (${connectionError ?? last})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    redis.off('error', onError);
  }
}

/** Whether `redis` says it is a Redis Cluster node (false when it cannot say, e.g. an ACL user without INFO). */
async function clusterEnabled(redis: Redis): Promise<boolean> {
  const info = await redis.info('cluster').catch(() => '');
  return /^cluster_enabled:1/m.test(info);
}

/** Deletes every key of the run (all of them carry the hash tag `{prefix}`) on the Redis or Redis Cluster at `redisUrl`. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  return redisEngine(redisUrl).clean(prefix);
}

/** {@link deletePrefix} on a client the caller holds (e.g. one through the Sentinels); on a Cluster, on every master. */
export async function deleteKeys(redis: Client, prefix: string): Promise<number> {
  let deleted = 0;
  // SCAN lists one server's keys; the run's keys share the slot of `{prefix}`, on one master.
  for (const server of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await server.del(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

type NatTarget = { host: string; port: number };

/** `RINGROUTE_SENTINEL_NATMAP` as ioredis's `natMap`: inline JSON, or a JSON file read again on each miss. */
function sentinelNatMap(value: string | undefined, log: (line: string) => void): ((key: string) => NatTarget | null) | undefined {
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
      log(`RINGROUTE_SENTINEL_NATMAP ${value}: ${(error as Error).message}`);
    }
  };
  reload();
  return (key) => {
    if (map[key] === undefined) reload();
    return map[key] ?? null;
  };
}
