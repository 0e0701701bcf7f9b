/**
 * Every Redis adapter on a Sentinel-managed primary, as users run Redis high
 * availability: ioredis clients with the `sentinels` option, a real primary,
 * replica and three Sentinels. The primary is killed (SIGKILL) with traffic
 * running (ring writes, heartbeats, transport publishes); the Sentinels
 * promote the replica and the adapters go on without being told. Also: a
 * Sentinel set whose primary does not answer, where every call fails in
 * bounded time with the client's error, and a Sentinel set that disagrees
 * (one Sentinel names the replica as the primary).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisMembership, RedisRingStore, RedisTransport } from '../../../src/adapters/redis/index.js';
import type { MembershipEvent } from '../../../src/index.js';
import { RingCoordinator, RingRouter } from '../../../src/index.js';
import { randomPrefix } from '../../support/redis-server.js';
import { SENTINEL_NAME, SentinelSet, skipWithoutSentinel } from '../../support/redis-sentinel.js';
import { sleep, waitFor } from '../../support/wait.js';

const skip = skipWithoutSentinel('the Redis adapters on Sentinel');
describe.skipIf(skip)('the Redis adapters on a Sentinel-managed primary', { timeout: 60_000 }, () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  function sentinelClient(sentinels: Array<{ host: string; port: number }>): Redis {
    const redis = new Redis({ sentinels, name: SENTINEL_NAME, maxRetriesPerRequest: 2, commandTimeout: 1000, sentinelRetryStrategy: () => 100, retryStrategy: () => 100 });
    redis.on('error', () => undefined);
    cleanup.push(() => redis.disconnect());
    return redis;
  }

  it('keeps ring writes, memberships and messages going across a fail-over that kills the primary', async () => {
    const set = await SentinelSet.start();
    cleanup.push(() => set.destroy());
    const prefix = randomPrefix('sentinel');
    const client = () => sentinelClient(set.sentinels);
    const membership = new RedisMembership({ redis: client(), prefix, ttlMs: 4000, heartbeatMs: 500, timeoutMs: 1000, onError: () => undefined });
    cleanup.push(() => membership.close());
    const expired: string[] = [];
    membership.watch((e: MembershipEvent) => e.type === 'expire' && expired.push(e.node.id), () => undefined);
    const coordinator = await RingCoordinator.start({ membership, store: new RedisRingStore({ redis: client(), prefix }), settleMs: 0 });
    coordinator.on('error', () => undefined);
    cleanup.push(() => coordinator.close());
    const routers = await Promise.all([1, 2].map(() => RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs: 200 })));
    for (const r of routers) {
      r.on('error', () => undefined);
      cleanup.push(() => r.close());
    }
    const nodes = new RedisMembership({ redis: client(), prefix, ttlMs: 4000, heartbeatMs: 500, timeoutMs: 1000, onError: () => undefined });
    cleanup.push(() => nodes.close());
    await nodes.join({ id: 'a' });
    await nodes.join({ id: 'b' });
    await waitFor(() => routers.every((r) => r.ring.has('a') && r.ring.has('b')), { what: 'a and b on every ring' });

    const transport = new RedisTransport({ redis: client(), prefix });
    cleanup.push(() => transport.close());
    const received = new Set<number>();
    await transport.listen('inbox', (m) => received.add(Number(m)));
    const sent: Array<{ i: number; receivers: number | 'error' }> = [];
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const receivers = await transport.publish('inbox', String(i)).catch(() => 'error' as const);
        sent.push({ i, receivers });
        await sleep(20);
      }
    })();
    // Compare-and-sets in flight while the primary dies: each settles (resolves or rejects) in bounded time.
    const writer = new RedisRingStore({ redis: client(), prefix: `${prefix}-cas` });
    const casTimes: number[] = [];
    const writes = (async () => {
      for (let v = 0; !stop; ) {
        const t0 = performance.now();
        const state = await writer.compareAndSet(v, [{ id: `n${v}` }]).catch(() => undefined);
        casTimes.push(performance.now() - t0);
        v = state?.version ?? (await writer.read().catch(() => null))?.version ?? v;
        await sleep(20);
      }
    })();
    await sleep(500);

    const oldPrimary = await set.primaryPort();
    expect(oldPrimary).toBe(set.primary.port);
    const killed = performance.now();
    await set.primary.kill();
    await waitFor(async () => (await set.primaryPort().catch(() => oldPrimary)) === set.replica.port, { what: 'Sentinels promote the replica', timeoutMs: 20_000, intervalMs: 50 });
    const promoted = performance.now();
    // A ring write after the fail-over: it lands on the new primary and every router follows.
    await nodes.join({ id: 'c' });
    await waitFor(() => routers.every((r) => r.ring.has('c')), { what: 'c on every ring after the fail-over', timeoutMs: 20_000 });
    const converged = performance.now();
    const afterFailover = sent.length;
    await waitFor(() => sent.slice(afterFailover).filter((s) => s.receivers === 1 && received.has(s.i)).length >= 10, { what: 'messages flowing after the fail-over', timeoutMs: 20_000 });
    stop = true;
    await traffic;
    await writes;
    expect(Math.max(...casTimes)).toBeLessThan(5000); // commandTimeout 1 s x (1 + 2 retries), and reconnects
    const final = await writer.read();
    expect(final?.nodes).toHaveLength(1); // a whole state, never a torn one

    // Every publish that said "1 receiver" was received; none counted a receiver it did not have.
    for (const s of sent) if (s.receivers === 1) expect(received.has(s.i)).toBe(true);
    expect(routers[0]!.ring.nodes().map((n) => n.id)).toEqual(routers[1]!.ring.nodes().map((n) => n.id));
    expect(routers[0]!.version).toBe(routers[1]!.version);
    // No live member expired across the fail-over (the heartbeats' gap moved every expiry forward).
    expect(expired).toEqual([]);
    if (process.env.SENTINEL_FIGURES) {
      const lost = sent.filter((s) => s.receivers !== 1).length;
      console.log(`slowest compare-and-set ${Math.round(Math.max(...casTimes))} ms; promoted ${Math.round(promoted - killed)} ms after the kill; ring with c on both routers ${Math.round(converged - killed)} ms after; ${sent.length} publishes, ${lost} not confirmed (told so), ${received.size} received`);
    }
  });

  it('fails every call in bounded time, with the client\'s error, when the Sentinels name a primary that does not answer', async () => {
    const set = await SentinelSet.start({ downAfterMs: 60_000 }); // no fail-over: the named primary just stays dead
    cleanup.push(() => set.destroy());
    await set.primary.kill();
    await set.replica.kill();
    const prefix = randomPrefix('sentinel-dead');
    const store = new RedisRingStore({ redis: sentinelClient(set.sentinels), prefix });
    const started = performance.now();
    await expect(store.read()).rejects.toThrow();
    await expect(store.compareAndSet(0, [{ id: 'a' }])).rejects.toThrow();
    const membership = new RedisMembership({ redis: sentinelClient(set.sentinels), prefix, onError: () => undefined });
    cleanup.push(() => membership.close());
    await expect(membership.join({ id: 'a' })).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('writes to the real primary when a Sentinel listed first disagrees and names the replica', async () => {
    const set = await SentinelSet.start();
    cleanup.push(() => set.destroy());
    const stale = await set.startStaleSentinel();
    const admin = new Redis({ host: stale.host, port: stale.port, maxRetriesPerRequest: 0 });
    cleanup.push(() => admin.disconnect());
    const [, named] = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string];
    expect(Number(named)).toBe(set.replica.port); // it does disagree with the others
    expect(await set.primaryPort()).toBe(set.primary.port);

    const prefix = randomPrefix('sentinel-disagree');
    // The stale Sentinel first: ioredis asks it, connects to the replica, finds it is not a primary (INFO's role) and asks the next.
    const misled = sentinelClient([stale, ...set.sentinels]);
    const store = new RedisRingStore({ redis: misled, prefix });
    expect(await store.compareAndSet(0, [{ id: 'a' }, { id: 'b' }])).toMatchObject({ version: 1 });
    expect((misled as unknown as { stream: { remotePort: number } }).stream.remotePort).toBe(set.primary.port);
    const honest = new RedisRingStore({ redis: sentinelClient(set.sentinels), prefix });
    expect((await honest.read())?.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    const membership = new RedisMembership({ redis: sentinelClient([stale, ...set.sentinels]), prefix, onError: () => undefined });
    cleanup.push(() => membership.close());
    await membership.join({ id: 'c' });
    expect((await new RedisMembership({ redis: sentinelClient(set.sentinels), prefix }).members()).map((n) => n.id)).toEqual(['c']);
  });
});
