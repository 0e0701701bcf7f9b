/**
 * Poisoned records, forged pushes, racing reads and a hung server, against a
 * real redis-server: what a production cluster meets besides clean joins and
 * leaves.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RingRouter, type RingState } from '../../../src/index.js';
import { RedisRingStore, redisKeys, type RedisClient, type RedisSubscriberClient } from '../../../src/adapters/redis/index.js';
import { RedisServer, skipWithoutRedis } from '../../support/redis-server.js';
import { sleep, waitFor, waitForTimed } from '../../support/wait.js';
import { movedKeys, startFaultCluster, type FaultCluster } from './fault-cluster.js';

const TIMING = { ttlMs: 600, heartbeatMs: 150 };
const MEMBERS = ['node-a', 'node-b', 'node-c'];

async function serverTimeMs(client: Redis): Promise<number> {
  const [seconds, micros] = (await client.call('TIME')) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A client that counts the commands it has in flight. */
class CountingClient implements RedisClient {
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  constructor(readonly inner: Redis) {}
  async #count<T>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await call();
    } finally {
      this.inFlight--;
    }
  }
  evalsha(sha1: string, numkeys: number, ...rest: Array<string | number>): Promise<unknown> {
    return this.#count(() => this.inner.evalsha(sha1, numkeys, ...rest));
  }
  eval(script: string, numkeys: number, ...rest: Array<string | number>): Promise<unknown> {
    return this.#count(() => this.inner.eval(script, numkeys, ...rest));
  }
  get(key: string): Promise<string | null> {
    return this.#count(() => this.inner.get(key));
  }
  duplicate(): RedisSubscriberClient {
    return this.inner.duplicate();
  }
}

const skip = skipWithoutRedis('Redis faults', 'binary');
describe.skipIf(skip)('live routing against poisoned records, forged pushes, racing reads and a hung Redis', () => {
  let server: RedisServer;
  let cluster: FaultCluster | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    if (server.running) server.resume();
    await cluster?.close();
    cluster = undefined;
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('skips and reports one bad member record, keeps applying every other change, and the next heartbeat rewrites the record', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 2, coordinators: 1, timing: TIMING });
    const keys = redisKeys(cluster.prefix);
    const c = cluster;
    // The member's own heartbeat heals the record within heartbeatMs, so have the coordinator read right away.
    await waitFor(
      async () => {
        await c.admin.hset(keys.members, 'node-b', '{not json');
        await c.coordinators[0]!.sync();
        return c.coordinatorErrors.some((e) => e.message.includes('"node-b"'));
      },
      { what: 'the bad record to be reported with its id' },
    );
    // Its owner's next heartbeat rewrote the record in full.
    await waitFor(async () => (await c.admin.hget(keys.members, 'node-b')) === '{"id":"node-b"}', { what: 'the heartbeat to repair the record' });
    // Other changes keep flowing: a member that dies is removed.
    await cluster.admin.hset(keys.members, 'node-b', '{"id":"mismatch"}');
    cluster.members.get('node-c')!.abandon();
    await waitFor(() => c.agreed() === 'node-a,node-b', { timeoutMs: TIMING.ttlMs + 1000, what: 'node-c to be removed' });
  });

  it('reports a members key of the wrong type, repairs it within one resync, and moves no key meanwhile', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 2, coordinators: 1, timing: TIMING });
    const keys = redisKeys(cluster.prefix);
    const before = cluster.owners();
    await cluster.admin.del(keys.members);
    await cluster.admin.set(keys.members, 'garbage');
    const c = cluster;
    const repaired = await waitForTimed(async () => (await c.admin.type(keys.members)) === 'hash' && (await c.admin.hlen(keys.members)) === 3, {
      timeoutMs: 1000,
      what: 'the members hash to be repaired and refilled',
    });
    await sleep(TIMING.ttlMs + 300);
    // Whichever script touched it first (a heartbeat or the coordinator's read) repaired and reported it.
    const reports = [...cluster.coordinatorErrors, ...cluster.memberErrors];
    expect(reports.some((e) => e.message.includes(keys.members) && e.message.includes('wrong type'))).toBe(true);
    expect(movedKeys(before, cluster.owners())).toBe(0);
    for (const log of cluster.changes) for (const { diff } of log) expect(diff.movedFraction).toBe(0);
    console.info(`[ringroute] members key of the wrong type: repaired and refilled in ${repaired.ms.toFixed(0)} ms, no key moved`);
  });

  it('repairs garbage in the ring key as a new epoch within one resync; routers serve the last good ring meanwhile', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 2, coordinators: 2, timing: TIMING });
    const keys = redisKeys(cluster.prefix);
    const before = cluster.owners();
    for (const garbage of ['{"version":', 'x'.repeat(1000)]) {
      const epoch = cluster.routers[0]!.epoch;
      await cluster.admin.set(keys.ring, garbage);
      const c = cluster;
      const repaired = await waitForTimed(() => c.routers.every((r) => r.epoch !== epoch) && c.agreed() === MEMBERS.join(','), {
        timeoutMs: 1000,
        what: 'the ring to be repaired as a new epoch',
      });
      console.info(`[ringroute] garbage ring key: repaired as a new epoch, routers adopted it ${repaired.ms.toFixed(0)} ms later`);
    }
    await cluster.admin.del(keys.ring);
    await cluster.admin.hset(keys.ring, 'version', '1');
    const c = cluster;
    await waitFor(async () => (await c.admin.type(keys.ring)) === 'string', { timeoutMs: 1000, what: 'a ring key of the wrong type to be repaired' });
    expect(cluster.coordinatorErrors.some((e) => e.message.includes('cannot be read'))).toBe(true);
    expect(movedKeys(before, cluster.owners())).toBe(0);
    for (const log of cluster.changes) for (const { diff } of log) expect(diff.movedFraction).toBe(0);
  });

  it('treats an expiry later than now + ttl as a bad record: a ghost is reported, never routed to, and reaped', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 2, coordinators: 1, timing: TIMING });
    const keys = redisKeys(cluster.prefix);
    const now = await serverTimeMs(cluster.admin);
    await cluster.admin.hset(keys.members, 'ghost', '{"id":"ghost"}');
    await cluster.admin.hset(keys.owners, 'ghost', 'forged-token');
    await cluster.admin.zadd(keys.expiry, now + 10 * 365 * 86_400_000, 'ghost');
    const c = cluster;
    await waitFor(() => c.coordinatorErrors.some((e) => e.message.includes('"ghost"')), { what: 'the ghost to be reported' });
    await waitFor(async () => (await c.admin.zscore(keys.expiry, 'ghost')) === null, { timeoutMs: TIMING.ttlMs + 1000, what: 'the ghost to be reaped' });
    for (const log of cluster.changes) for (const { state } of log) expect(state.nodes.map((n) => n.id)).not.toContain('ghost');
    expect(cluster.agreed()).toBe(MEMBERS.join(','));
  });

  it('never adopts a forged push on the ring channel; the store stays the truth', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 3, coordinators: 1, timing: TIMING });
    const keys = redisKeys(cluster.prefix);
    const versions = cluster.routers.map((r) => `${r.epoch}/${r.version}`);
    const epoch = cluster.routers[0]!.epoch;
    const forged = [
      `{"epoch":"${epoch}","version":9007199254740991,"nodes":[{"id":"evil"}]}`,
      '{"epoch":"forged-1","version":1,"nodes":[{"id":"evil"}]}',
    ];
    for (let i = 0; i < 50; i++) await cluster.admin.publish(keys.ringChanges, forged[i % 2]!);
    await sleep(300);
    expect(cluster.routers.map((r) => `${r.epoch}/${r.version}`)).toEqual(versions);
    for (const log of cluster.changes) for (const { state } of log) expect(state.nodes.map((n) => n.id)).not.toContain('evil');
    expect(cluster.agreed()).toBe(MEMBERS.join(','));
  });

  it('never steps a router backwards: 8 routers at resync 1 ms over 3000 writes', async () => {
    const prefix = `race-${Date.now()}`;
    const clients: Redis[] = [await client(server)];
    const writer = new RedisRingStore({ redis: clients[0]!, prefix });
    const routers: RingRouter[] = [];
    let backward = 0;
    let changes = 0;
    try {
      await writer.compareAndSet(0, [{ id: 'n0' }]);
      for (let i = 0; i < 8; i++) {
        const c = await client(server);
        clients.push(c);
        const router = await RingRouter.start({ store: new RedisRingStore({ redis: c, prefix }), resyncMs: 1 });
        let last: RingState | null = null;
        router.on('change', (_diff, state) => {
          changes++;
          if (last !== null && state.epoch === last.epoch && state.version <= last.version) backward++;
          last = state;
        });
        router.on('error', () => undefined);
        routers.push(router);
      }
      let state = (await writer.read())!;
      for (let i = 1; i <= 3000; i++) {
        state = (await writer.compareAndSet(state.version, [{ id: `n${i % 5}` }, { id: `m${i % 3}` }], state.epoch))!;
      }
      await waitFor(() => routers.every((r) => r.version === state.version), { timeoutMs: 5000, what: 'every router to reach the last version' });
      console.info(`[ringroute] 8 routers, resync 1 ms, 3000 writes: ${changes} changes applied, ${backward} backward`);
      expect(backward).toBe(0);
    } finally {
      for (const r of routers) await r.close();
      await writer.close();
      for (const c of clients) c.disconnect();
    }
  });

  it('keeps at most one call in flight per router, coordinator and heartbeat while Redis hangs, reports it, and recovers', async () => {
    const counters: CountingClient[] = [];
    cluster = await startFaultCluster(server.url, {
      members: MEMBERS,
      routers: 2,
      coordinators: 1,
      timing: TIMING,
      routerResyncMs: 10,
      readTimeoutMs: 200,
      wrap: (c) => {
        const counting = new CountingClient(c);
        counters.push(counting);
        return counting;
      },
    });
    const errorsBefore = cluster.routerErrors.length;
    const callsBefore = counters.map((c) => c.calls);
    for (const counter of counters) counter.maxInFlight = counter.inFlight;
    server.pause();
    await sleep(3000);
    const during = counters.map((c, i) => c.calls - callsBefore[i]!);
    server.resume();
    // One read each, abandoned, then nothing until it settles: no pile of 300 reads.
    for (const n of during) expect(n).toBeLessThanOrEqual(2);
    expect(during.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(counters.length + 1);
    // Per store: the router's (or coordinator's) one call, plus at most one catch-up read of the store after a re-subscription.
    for (const counter of counters) expect(counter.maxInFlight).toBeLessThanOrEqual(2);
    const timeouts = cluster.routerErrors.slice(errorsBefore).filter((e) => e.name === 'TimeoutError');
    expect(timeouts.length).toBeGreaterThanOrEqual(2 * 2); // each router: the timeout, then "still pending"
    expect(cluster.memberErrors.some((e) => e.name === 'TimeoutError')).toBe(true);
    expect(cluster.coordinatorErrors.some((e) => e.name === 'TimeoutError')).toBe(true);
    // Back: a change made now reaches every router.
    await cluster.members.get('node-a')!.leave();
    const c = cluster;
    await waitFor(() => c.agreed() === 'node-b,node-c', { timeoutMs: 3000, what: 'routers to recover after the hang' });
    console.info(`[ringroute] Redis hung 3 s, resync 10 ms: reads issued per store during the hang: ${during.join(', ')}; router timeouts reported: ${timeouts.length}`);
  });
});

async function client(server: RedisServer): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const c = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  c.on('error', () => undefined);
  return c;
}
