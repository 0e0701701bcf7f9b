/**
 * Where the proxy-gateway example keeps its ring, membership and messages:
 * in memory (one store object, the scenario writes the membership itself),
 * or on Redis (`--redis URL`): every app node has its own ioredis client,
 * `RedisRingStore`, `RedisMembership` and `RedisTransport`, a
 * `RingCoordinator` on the scenario's side writes the live members into the
 * store, and the proxy's router reads that store. A killed node stops
 * heartbeating and leaves by ttl expiry. Each Redis run uses a fresh key
 * prefix and deletes its keys at the end.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type MembershipAdapter, MemoryRingStore, MemoryTransport, RingCoordinator, type RingNode, type RingStore, type Transport } from 'ringroute';
import { type RedisMembershipHandle, RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';
import { deletePrefix } from '../cluster/redis-engine.js';
import { redactUrl, redisOptions } from '../cluster/redis-url.js';

/** One app node's connections. */
export interface NodeAdapters {
  readonly store: RingStore;
  readonly transport: Transport;
  /** Registers the node as alive (Redis mode; in memory mode the scenario writes the store). */
  join(node: RingNode): Promise<void>;
  /** The node died: no more heartbeats (its membership expires by ttl), connections cut. */
  kill(): Promise<void>;
  /** Graceful end: leaves the membership, closes the connections. */
  close(): Promise<void>;
}

export interface Adapters {
  readonly kind: 'memory' | 'redis';
  /** For the report: `memory`, or the Redis URL with its password hidden. */
  readonly label: string;
  /** Membership ttl in ms (Redis mode): how long a dead node stays in the ring. */
  readonly ttlMs: number;
  /** The scenario's store: its router and the proxy's read it. */
  readonly store: RingStore;
  /** The dispatcher's transport. */
  readonly transport: Transport;
  /** Whether a coordinator writes the store from membership (else the scenario writes it). */
  readonly coordinated: boolean;
  forNode(id: string): NodeAdapters;
  /** Closes everything (and deletes the run's Redis keys). Idempotent. */
  close(): Promise<void>;
}

export function memoryAdapters(): Adapters {
  const store = new MemoryRingStore();
  const bus = new MemoryTransport();
  return {
    kind: 'memory',
    label: 'memory',
    ttlMs: 0,
    store,
    transport: bus.connect(),
    coordinated: false,
    forNode() {
      const transport = bus.connect();
      return {
        store,
        transport,
        join: async () => undefined,
        kill: () => transport.close().catch(() => undefined),
        close: () => transport.close().catch(() => undefined),
      };
    },
    close: async () => bus.close().catch(() => undefined),
  };
}

/** Options of {@link redisAdapters}. */
export interface RedisAdapterOptions {
  readonly url: string;
  /** Membership ttl. @default 2000 */
  readonly ttlMs?: number;
  readonly onError: (error: Error) => void;
}

/** Connects to Redis (failing with one clear message when it cannot) and starts the coordinator. */
export async function redisAdapters(options: RedisAdapterOptions): Promise<Adapters> {
  const { url, onError } = options;
  const ttlMs = options.ttlMs ?? 2000;
  const heartbeatMs = Math.max(50, Math.min(500, Math.floor(ttlMs / 4)));
  const prefix = `ringroute-pg-${randomBytes(4).toString('hex')}`;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const redis = new Redis(url, redisOptions(url));
    redis.on('error', () => undefined); // commands reject with the error; their callers report it
    clients.push(redis);
    return redis;
  };
  const redis = client();
  try {
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  const store = new RedisRingStore({ redis, prefix });
  const membership = new RedisMembership({ redis, prefix, ttlMs, heartbeatMs, onError });
  let coordinator: RingCoordinator;
  try {
    coordinator = await RingCoordinator.start({ membership, store, settleMs: 20 });
  } catch (error) {
    await membership.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    redis.disconnect();
    throw error;
  }
  coordinator.on('error', onError);
  const transport = new RedisTransport({ redis, prefix });
  const closers: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  return {
    kind: 'redis',
    label: `Redis ${redactUrl(url)}`,
    ttlMs,
    store,
    transport,
    coordinated: true,
    forNode(id) {
      const own = client();
      let dead = false;
      const report = (error: Error): void => void (dead || onError(new Error(`${id}: ${error.message}`)));
      const nodeStore = new RedisRingStore({ redis: own, prefix });
      const nodeMembership: MembershipAdapter & { close(): Promise<void> } = new RedisMembership({ redis: own, prefix, ttlMs, heartbeatMs, onError: report });
      const nodeTransport = new RedisTransport({ redis: own, prefix });
      let member: RedisMembershipHandle | undefined;
      const end = async (leave: boolean): Promise<void> => {
        if (dead) return;
        dead = true;
        if (leave) await member?.leave().catch(() => undefined);
        else member?.abandon();
        await nodeTransport.close().catch(() => undefined);
        await nodeMembership.close().catch(() => undefined);
        await nodeStore.close().catch(() => undefined);
        own.disconnect();
      };
      closers.push(() => end(true));
      return {
        store: nodeStore,
        transport: nodeTransport,
        join: async (node) => void (member = (await nodeMembership.join(node)) as RedisMembershipHandle),
        kill: () => end(false),
        close: () => end(true),
      };
    },
    close() {
      closing ??= (async () => {
        for (const close of closers) await close();
        await coordinator.close().catch(() => undefined);
        await transport.close().catch(() => undefined);
        await membership.close().catch(() => undefined);
        await store.close().catch(() => undefined);
        for (const c of clients) c.disconnect();
        await deletePrefix(url, prefix).catch((error: Error) => onError(new Error(`could not delete the run's Redis keys {${prefix}}*: ${error.message}`)));
      })();
      return closing;
    },
  };
}
