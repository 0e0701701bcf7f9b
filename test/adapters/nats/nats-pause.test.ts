/**
 * A nats-server paused (SIGSTOP) for 3 x ttl with every member alive. NATS
 * 2.9 expires the members' entries by their age on its own clock when it
 * resumes; NatsMembership sees the gap in the server's answers, reports no
 * expiry and has members() reject while the members re-register, so the
 * coordinator (default timeoutMs, which outlasts the pause) writes nothing.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsMembership, NatsRingStore } from '../../../src/adapters/nats/index.js';
import { RingCoordinator, RingRouter } from '../../../src/index.js';
import { NatsServer, randomNatsPrefix, skipWithoutNats } from '../../support/nats-server.js';
import { sleep, waitFor } from '../../support/wait.js';

describe.skipIf(skipWithoutNats('a paused nats-server'))('a paused nats-server', () => {
  let server: NatsServer | null = null;
  afterAll(async () => server?.destroy());

  it('moves no key when paused for 3 x ttl with every member alive', async () => {
    server = await NatsServer.start();
    const prefix = randomNatsPrefix('pause');
    const ttlMs = 600;
    const timing = { ttlMs, heartbeatMs: 150 };
    const connections: NatsConnection[] = [];
    const open = async () => {
      const nc = await connect({ servers: server!.url, reconnectTimeWait: 50, maxReconnectAttempts: -1, pingInterval: 60_000 });
      connections.push(nc);
      return nc;
    };
    const closers: Array<() => Promise<void>> = [];
    try {
      const members = new NatsMembership({ nats: await open(), prefix, ...timing });
      closers.push(() => members.close());
      for (const id of ['a', 'b', 'c']) await members.join({ id });
      const coordinator = await RingCoordinator.start({ membership: new NatsMembership({ nats: await open(), prefix, ...timing }), store: new NatsRingStore({ nats: await open(), prefix }), settleMs: 20, resyncMs: 500 });
      coordinator.on('error', () => undefined);
      closers.push(() => coordinator.close());
      const router = await RingRouter.start({ store: new NatsRingStore({ nats: await open(), prefix }), resyncMs: 200, readTimeoutMs: 400 });
      router.on('error', () => undefined);
      closers.push(() => router.close());
      await waitFor(() => router.ring.size === 3, { what: 'three members in the ring' });
      const moved: number[] = [];
      router.on('change', (diff) => moved.push(diff.movedFraction));
      const version = router.version;
      server.pause();
      await sleep(3 * ttlMs);
      server.resume();
      await sleep(3 * ttlMs);
      console.info(`[NATS pause] ${3 * ttlMs} ms pause, 3 live members: ${moved.length} ring changes, moved fractions ${JSON.stringify(moved)}, version ${version} -> ${router.version}`);
      expect(moved.filter((f) => f > 0)).toEqual([]);
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await Promise.allSettled(connections.map((nc) => nc.close()));
    }
  }, 60_000);

  it('removes a member that died during the pause once the others re-registered', async () => {
    server ??= await NatsServer.start();
    const prefix = randomNatsPrefix('pausedead');
    const ttlMs = 600;
    const timing = { ttlMs, heartbeatMs: 150 };
    const connections: NatsConnection[] = [];
    const open = async () => {
      const nc = await connect({ servers: server!.url, reconnectTimeWait: 50, maxReconnectAttempts: -1, pingInterval: 60_000 });
      connections.push(nc);
      return nc;
    };
    const closers: Array<() => Promise<void>> = [];
    try {
      const members = new NatsMembership({ nats: await open(), prefix, ...timing });
      closers.push(() => members.close());
      await members.join({ id: 'a' });
      await members.join({ id: 'b' });
      const dying = await members.join({ id: 'c' });
      const coordinator = await RingCoordinator.start({ membership: new NatsMembership({ nats: await open(), prefix, ...timing }), store: new NatsRingStore({ nats: await open(), prefix }), settleMs: 20, resyncMs: 500 });
      coordinator.on('error', () => undefined);
      closers.push(() => coordinator.close());
      const router = await RingRouter.start({ store: new NatsRingStore({ nats: await open(), prefix }), resyncMs: 200, readTimeoutMs: 400 });
      router.on('error', () => undefined);
      closers.push(() => router.close());
      await waitFor(() => router.ring.size === 3, { what: 'three members in the ring' });
      const sizes: number[] = [];
      router.on('change', () => sizes.push(router.ring.size));
      server.pause();
      dying.abandon();
      await sleep(3 * ttlMs);
      server.resume();
      const resumed = performance.now();
      await waitFor(() => router.ring.size === 2 && !router.ring.has('c'), { timeoutMs: 10_000, what: 'the dead member to leave the ring' });
      const took = performance.now() - resumed;
      console.info(`[NATS pause] a member died during a ${3 * ttlMs} ms pause: removed ${took.toFixed(0)} ms after the server resumed; ring sizes ${JSON.stringify(sizes)}`);
      // Never emptied on the way: only the dead member's keys moved.
      expect(sizes).toEqual([2]);
      expect(took).toBeLessThan(3 * ttlMs + 1000);
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await Promise.allSettled(connections.map((nc) => nc.close()));
    }
  }, 60_000);
});
