/**
 * Routers and a coordinator over a real redis-server that is stopped and
 * restarted (empty, as without persistence) in the middle of the test.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingCoordinator, RingRouter } from '../../../src/index.js';
import { RedisMembership, RedisRingStore } from '../../../src/adapters/redis/index.js';
import { RedisServer, randomPrefix, skipWithoutRedis } from '../../support/redis-server.js';
import { waitFor, waitForTimed } from '../../support/wait.js';

const KEYS = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
const owners = (router: RingRouter) => KEYS.map((k) => router.lookup(k).id).join(',');

const skip = skipWithoutRedis('routers across a Redis outage', 'binary');
describe.skipIf(skip)('RingRouter and RingCoordinator across a Redis outage', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('keep answering from the last good ring, report errors, and converge after Redis returns', async () => {
    const prefix = randomPrefix('outage');
    const clients: Redis[] = [];
    const client = () => {
      const c = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    };
    const timing = { ttlMs: 600, heartbeatMs: 150 };
    const nodes = new RedisMembership({ redis: client(), prefix, ...timing, onError: () => undefined });
    const coordinator = await RingCoordinator.start({
      membership: new RedisMembership({ redis: client(), prefix, ...timing, onError: () => undefined }),
      store: new RedisRingStore({ redis: client(), prefix }),
      settleMs: 20,
      resyncMs: 300,
    });
    coordinator.on('error', () => undefined);
    const resyncMs = 200;
    const routers = await Promise.all([0, 1].map(() => RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs })));
    const errors = routers.map(() => [] as Error[]);
    routers.forEach((r, i) => r.on('error', (e) => errors[i]!.push(e)));
    const ids = (r: RingRouter) => r.ring.nodes().map((n) => n.id).join(',');
    try {
      await nodes.join({ id: 'node-a' });
      const b = await nodes.join({ id: 'node-b' });
      await waitFor(() => routers.every((r) => ids(r) === 'node-a,node-b'), { what: 'both nodes on every router' });
      const before = owners(routers[0]!);

      await server.stop();
      // node-b dies while Redis is down: it will not come back with the restart.
      b.abandon();
      await waitFor(() => errors.every((list) => list.length >= 2), { what: 'every router to report the outage' });
      for (const r of routers) expect(owners(r)).toBe(before);

      await server.restart(); // empty: persistence is off
      const restartedAt = performance.now();
      await waitFor(async () => (await nodes.members().catch(() => [])).some((n) => n.id === 'node-a'), { what: 'node-a to re-join' });
      await nodes.join({ id: 'node-c' });
      const converged = await waitForTimed(
        () => routers.every((r) => ids(r) === 'node-a,node-c' && owners(r) === owners(routers[0]!) && r.version === routers[0]!.version),
        { timeoutMs: 5000, what: 'routers to converge on the ring rebuilt after the restart' },
      );
      const total = performance.now() - restartedAt;
      console.info(
        `[ringroute] Redis outage: routers converged ${converged.ms.toFixed(0)} ms after the last join, ${total.toFixed(0)} ms after the restart (resyncMs ${resyncMs})`,
      );
      expect(converged.ms).toBeLessThan(resyncMs + 2000);
    } finally {
      for (const r of routers) await r.close();
      await coordinator.close();
      await nodes.close().catch(() => undefined);
      for (const c of clients) c.disconnect();
    }
  });
});
