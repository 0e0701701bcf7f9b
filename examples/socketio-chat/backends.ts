/**
 * Where the chat's servers keep their ring and pass their packets: in this
 * process's memory (the default), or on a Redis (`--redis URL`), through the
 * same ringroute adapters a production cluster uses.
 */
import { Redis } from 'ioredis';
import { type MembershipAdapter, MemoryMembership, MemoryRingStore, MemoryTransport, type RingStore, type Transport } from 'ringroute';
import { RedisMembership, RedisRingStore, RedisTransport } from 'ringroute/redis';

export interface Backends {
  /** One handle of each per server, as separate processes would have. */
  part(): { store: RingStore; membership: MembershipAdapter; transport: Transport };
  close(): Promise<void>;
}

export function memoryBackends(): Backends {
  const store = new MemoryRingStore();
  const membership = new MemoryMembership({ ttlMs: 3000, heartbeatMs: 1000 });
  const bus = new MemoryTransport();
  return {
    part: () => ({ store: store.connect(), membership: membership.connect(), transport: bus.connect() }),
    close: async () => undefined,
  };
}

export function redisBackends(url: string): Backends {
  const prefix = `chat-${process.pid}-${Date.now().toString(36)}`;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const redis = new Redis(url, { maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined); // reported by the adapters that use it
    clients.push(redis);
    return redis;
  };
  return {
    part: () => ({
      store: new RedisRingStore({ redis: client(), prefix }),
      membership: new RedisMembership({ redis: client(), prefix, ttlMs: 3000, heartbeatMs: 1000 }),
      transport: new RedisTransport({ redis: client(), prefix }),
    }),
    close: async () => {
      const cleanup = new Redis(url);
      const keys = await cleanup.keys(`${prefix}:*`);
      if (keys.length > 0) await cleanup.del(...keys);
      cleanup.disconnect();
      for (const redis of clients) redis.disconnect();
    },
  };
}
