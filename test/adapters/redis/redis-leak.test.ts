/**
 * Nothing accumulates: 800 cycles of start / join / leave / close of a
 * coordinator, a router and their Redis adapters on a real redis-server, with
 * 100 forced pub/sub disconnects (CLIENT KILL TYPE pubsub) among them, leave
 * the heap, the process's handles and the server's client connections where
 * a warmed-up baseline had them.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingCoordinator, RingRouter, createXxHash32 } from '../../../src/index.js';
import { RedisMembership, RedisRingStore, redisKeys } from '../../../src/adapters/redis/index.js';
import { RedisServer, randomPrefix, skipWithoutRedis } from '../../support/redis-server.js';
import { sleep, waitFor } from '../../support/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CYCLES = Number(process.env.LEAK_CYCLES ?? 800);
const KILL_EVERY = 8; // 100 forced pub/sub disconnects
const WARMUP = 100;

/** process._getActiveHandles is undocumented but stable since Node 0.x; it counts sockets, timers and servers. */
function handles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

async function connections(admin: Redis): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list.trim().split('\n').length;
}

const skip = skipWithoutRedis('leak test', 'binary');
describe.skipIf(skip)('RingRouter, RingCoordinator and the Redis adapters over many cycles', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it(`leave heap, handles and Redis connections flat after ${CYCLES} cycles and ${CYCLES / KILL_EVERY} pub/sub disconnects`, { timeout: 120_000 }, async () => {
    const prefix = randomPrefix('leak');
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    const admin = new Redis(server.url);
    redis.on('error', () => undefined);
    const hasher = await createXxHash32();
    let errors = 0;

    async function cycle(i: number): Promise<void> {
      const store = new RedisRingStore({ redis, prefix });
      const membership = new RedisMembership({ redis, prefix, ttlMs: 3000, heartbeatMs: 1000, onError: () => undefined });
      const coordinator = await RingCoordinator.start({ membership, store, settleMs: 0 });
      coordinator.on('error', () => errors++);
      const router = await RingRouter.start({ store, hasher, resyncMs: 50 });
      router.on('error', () => errors++);
      const member = await membership.join({ id: `node-${i % 5}` });
      await coordinator.sync();
      if (i % KILL_EVERY === 0) await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await member.leave();
      await coordinator.sync();
      await router.resync();
      await router.close();
      await coordinator.close();
      await membership.close();
      await store.close();
    }

    const started = performance.now();
    try {
      for (let i = 0; i < WARMUP; i++) await cycle(i);
      await sleep(200);
      const base = { heap: await settledHeap(), handles: handles(), connections: await connections(admin) };
      for (let i = 0; i < CYCLES; i++) await cycle(i);
      // Closed subscriber connections are gone from the server once their QUIT (at most 1 s) is through.
      await waitFor(async () => (await connections(admin)) <= base.connections, { timeoutMs: 3000, what: 'the Redis connections to return to the baseline' }).catch(() => undefined);
      const end = { heap: await settledHeap(), handles: handles(), connections: await connections(admin) };
      const seconds = (performance.now() - started) / 1000;
      console.info(
        `[ringroute] leak test: ${CYCLES} cycles + ${WARMUP} warm-up in ${seconds.toFixed(1)} s; heap ${(base.heap / 2 ** 20).toFixed(1)} -> ${(end.heap / 2 ** 20).toFixed(1)} MiB, ` +
          `handles ${base.handles} -> ${end.handles}, Redis connections ${base.connections} -> ${end.connections}, errors reported ${errors}`,
      );
      expect(end.connections).toBeLessThanOrEqual(base.connections);
      expect(end.handles).toBeLessThanOrEqual(base.handles + 2);
      // 800 leaked routers, coordinators or subscriber connections would cost far more than this.
      expect(end.heap - base.heap).toBeLessThan(4 * 2 ** 20);
      const keys = redisKeys(prefix);
      expect(await admin.hlen(keys.members)).toBe(0);
    } finally {
      redis.disconnect();
      admin.disconnect();
    }
  });
});
