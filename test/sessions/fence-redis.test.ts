/**
 * Self-fencing against a real redis-server. Node `a` reaches Redis through a
 * TCP forwarder the test partitions (its heartbeats and ring reads stop,
 * everyone else's go on): `a` must fence before the coordinator's ring drops
 * it, and act again only after the partition heals. A paused Redis (SIGSTOP:
 * down for everyone, nobody's membership can expire) fences `a` too, but
 * closes no session and moves nobody.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { RedisMembership, RedisRingStore } from '../../src/adapters/redis/index.js';
import { RingCoordinator, RingRouter } from '../../src/index.js';
import { SessionNode } from '../../src/sessions/index.js';
import { Forwarder } from '../support/forwarder.js';
import { RedisServer, randomPrefix, skipWithoutRedis } from '../support/redis-server.js';
import { sleep, waitFor } from '../support/wait.js';
import { FakeSocket } from './support.js';

const TTL_MS = 1500;
const HEARTBEAT_MS = 300;

const skip = skipWithoutRedis('self-fencing against a real Redis', 'binary');
describe.skipIf(skip)('SessionNode.followLease on RedisMembership', { timeout: 30_000 }, () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  async function setup() {
    const server = await RedisServer.start();
    cleanup.push(() => server.destroy());
    const link = await Forwarder.start(server.port);
    cleanup.push(() => link.close());
    const prefix = randomPrefix('fence');
    const client = (port: number) => {
      const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 50, commandTimeout: 500 });
      redis.on('error', () => undefined);
      cleanup.push(() => redis.disconnect());
      return redis;
    };
    const options = { prefix, ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS, timeoutMs: 500 };
    // The rest of the cluster: a coordinator and node b, straight to Redis.
    const membership = new RedisMembership({ redis: client(server.port), ...options, onError: () => undefined });
    cleanup.push(() => membership.close());
    const store = new RedisRingStore({ redis: client(server.port), prefix });
    const coordinator = await RingCoordinator.start({ membership, store, settleMs: 0, graceMs: 0 });
    coordinator.on('error', () => undefined);
    cleanup.push(() => coordinator.close());
    const watcher = await RingRouter.start({ store: new RedisRingStore({ redis: client(server.port), prefix }), resyncMs: 100 });
    watcher.on('error', () => undefined);
    cleanup.push(() => watcher.close());
    await membership.join({ id: 'b' });
    // Node a, through the link.
    const aMembership = new RedisMembership({ redis: client(link.port), ...options, onError: () => undefined });
    cleanup.push(() => aMembership.close());
    const router = await RingRouter.start({ store: new RedisRingStore({ redis: client(link.port), prefix }), resyncMs: 100 });
    router.on('error', () => undefined);
    cleanup.push(() => router.close());
    const bus = new MemoryTransport();
    const node = await SessionNode.start({ id: 'a', router, transport: bus.connect(), pingIntervalMs: 0 });
    node.on('error', () => undefined);
    cleanup.push(() => node.close());
    const member = await aMembership.join({ id: 'a' });
    node.followLease(member, { closeAfterMs: 60_000 });
    await waitFor(() => router.ring.has('a') && watcher.ring.has('a'), { what: 'a on the ring' });
    const events: Array<{ kind: string; at: number }> = [];
    node.on('fence', () => events.push({ kind: 'fence', at: performance.now() }));
    node.on('unfence', () => events.push({ kind: 'unfence', at: performance.now() }));
    let key = '';
    for (let i = 0; key === ''; i++) if (router.lookup(`user-${i}`).id === 'a') key = `user-${i}`;
    const socket = new FakeSocket();
    expect(node.attach(key, socket)).not.toBeNull();
    return { server, link, node, watcher, events, socket };
  }

  it('fences a node cut off from Redis before the ring hands its keys to others, and unfences after the partition heals', async () => {
    const { link, node, watcher, events, socket } = await setup();
    link.partition();
    const cut = performance.now();
    await waitFor(() => !watcher.ring.has('a'), { what: 'the ring without a', timeoutMs: 10_000 });
    const dropped = performance.now();
    const fence = events.find((e) => e.kind === 'fence');
    expect(fence).toBeDefined();
    expect(fence!.at).toBeLessThan(dropped); // fenced before anyone else could own its keys
    expect(fence!.at - cut).toBeLessThan(TTL_MS);
    if (process.env.FENCE_FIGURES) console.log(`fenced ${Math.round(fence!.at - cut)} ms after the cut, ring dropped a ${Math.round(dropped - cut)} ms after`);
    expect(node.fenced).toBe(true);
    expect(socket.closed).toBeNull(); // idle, not closed: closeAfterMs has not passed
    expect(node.attach('late-user', new FakeSocket())).toBeNull();

    link.heal();
    await waitFor(() => events.some((e) => e.kind === 'unfence'), { what: 'unfence', timeoutMs: 10_000 });
    await waitFor(() => watcher.ring.has('a'), { what: 'a back on the ring', timeoutMs: 10_000 });
    expect(node.fenced).toBe(false);
    expect(node.stats()).toMatchObject({ fences: 1, fencedCloses: 0 });
  });

  it('fences through a Redis paused for everyone, and closes no session: nobody could take its keys', async () => {
    const { server, node, watcher, events, socket } = await setup();
    const version = watcher.version;
    server.pause();
    await sleep(TTL_MS + 1000);
    expect(node.fenced).toBe(true);
    server.resume();
    await waitFor(() => events.some((e) => e.kind === 'unfence'), { what: 'unfence', timeoutMs: 10_000 });
    await sleep(HEARTBEAT_MS * 3);
    expect(socket.closed).toBeNull();
    expect(watcher.ring.has('a')).toBe(true);
    expect(watcher.version).toBe(version); // the membership never expired: the ring never changed
    expect(node.stats()).toMatchObject({ fenced: false, fences: 1, fencedCloses: 0, sessions: 1 });
  });
});
