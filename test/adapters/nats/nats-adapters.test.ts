/**
 * The ring-store and membership contract suites against the NATS adapters on
 * a private nats-server with JetStream, plus what is specific to NATS.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsMembership, NatsRingStore, RING_HISTORY, natsNames } from '../../../src/adapters/nats/index.js';
import type { MembershipAdapter, RingStore } from '../../../src/live/contracts.js';
import { membershipContract, type MembershipHarness } from '../../contract/membership.contract.js';
import { ringStoreContract, type RingStoreHarness } from '../../contract/ring-store.contract.js';
import { NatsServer, randomNatsPrefix, skipWithoutNats, useNatsServer } from '../../support/nats-server.js';
import { rejectionOf, waitFor } from '../../support/wait.js';
import type { RingState } from '../../../src/live/contracts.js';

async function deleteStreams(url: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const names = natsNames(prefix);
    for (const bucket of [names.ringBucket, names.membersBucket]) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  } finally {
    await nc.close();
  }
}

function storeHarness(server: () => NatsServer): RingStoreHarness {
  const prefix = randomNatsPrefix('store');
  const opened: Array<{ store: RingStore; nc: NatsConnection }> = [];
  return {
    async create() {
      const nc = await connect({ servers: server().url });
      const store = new NatsRingStore({ nats: nc, prefix });
      opened.push({ store, nc });
      return store;
    },
    wipe: () => deleteStreams(server().url, prefix),
    async cleanup() {
      await Promise.all(opened.map(({ store }) => store.close()));
      await Promise.all(opened.map(({ nc }) => nc.close()));
      await deleteStreams(server().url, prefix);
    },
  };
}

// Short timings keep the suite fast; production defaults are 3000/1000.
const TTL_MS = 400;
const HEARTBEAT_MS = 100;

function membershipHarness(server: () => NatsServer): MembershipHarness {
  const prefix = randomNatsPrefix('members');
  const opened: Array<{ adapter: MembershipAdapter; nc: NatsConnection }> = [];
  return {
    ttlMs: TTL_MS,
    // ttl after the last heartbeat + one scan period + slack.
    expireWithinMs: TTL_MS + HEARTBEAT_MS + 500,
    async create() {
      const nc = await connect({ servers: server().url });
      const adapter = new NatsMembership({ nats: nc, prefix, ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS });
      opened.push({ adapter, nc });
      return adapter;
    },
    async cleanup() {
      await Promise.all(opened.map(({ adapter }) => adapter.close()));
      await Promise.all(opened.map(({ nc }) => nc.close()));
      await deleteStreams(server().url, prefix);
    },
  };
}

describe.skipIf(skipWithoutNats('NATS adapters on a single server'))('NATS adapters on a single server', () => {
  const server = useNatsServer();
  ringStoreContract('NatsRingStore (single server)', () => storeHarness(server));
  membershipContract('NatsMembership (single server)', () => membershipHarness(server));

  describe('NATS specifics', () => {
    const connections: NatsConnection[] = [];
    const open = async (): Promise<NatsConnection> => {
      const nc = await connect({ servers: server().url });
      connections.push(nc);
      return nc;
    };
    afterAll(async () => {
      await Promise.allSettled(connections.map((nc) => nc.close()));
    });

    it('validates the prefix and options', async () => {
      const nc = await open();
      for (const prefix of ['a.b', 'a*', 'a>', 'a b', '', 'x'.repeat(65), 'é']) {
        expect(() => new NatsRingStore({ nats: nc, prefix })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
        expect(() => new NatsMembership({ nats: nc, prefix })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      }
      expect(() => new NatsRingStore({ nats: {} as never })).toThrow(/NATS connection/);
      expect(() => new NatsRingStore({ nats: nc, replicas: 2 })).toThrow(/replicas/);
      expect(() => new NatsMembership({ nats: nc, ttlMs: 100, heartbeatMs: 60 })).toThrow(/heartbeatMs/);
      expect(natsNames('chat')).toEqual({ ringBucket: 'chat-ring', membersBucket: 'chat-members', sessions: 'chat.sessions' });
    });

    it("refuses a ring state over the server's max_payload before writing it", async () => {
      const nc = await open();
      const prefix = randomNatsPrefix('big');
      const store = new NatsRingStore({ nats: nc, prefix });
      try {
        await store.compareAndSet(0, [{ id: 'a' }]);
        const nodes = Array.from({ length: 20_000 }, (_, i) => ({ id: `node-${i}`, meta: { url: `ws://10.0.${i % 250}.${i % 200}:8080/some/long/path` } }));
        const error = await rejectionOf(store.compareAndSet(1, nodes));
        expect(error).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('max_payload') });
        expect(await store.read()).toMatchObject({ version: 1, nodes: [{ id: 'a' }] });
      } finally {
        await store.close();
        await deleteStreams(server().url, prefix);
      }
    });

    it('keeps the last RING_HISTORY ring states (a lagging watch still finds them) and one value per member', async () => {
      const nc = await open();
      const prefix = randomNatsPrefix('hist');
      const store = new NatsRingStore({ nats: nc, prefix });
      const members = new NatsMembership({ nats: nc, prefix, ttlMs: 400, heartbeatMs: 100 });
      try {
        for (let v = 0; v < RING_HISTORY + 3; v++) expect(await store.compareAndSet(v, [{ id: `n${v}` }])).not.toBeNull();
        const handle = await members.join({ id: 'a' });
        const jsm = await jetstreamManager(nc);
        const names = natsNames(prefix);
        const ring = await jsm.streams.info(`KV_${names.ringBucket}`);
        expect(RING_HISTORY).toBe(8);
        expect(ring.config.max_msgs_per_subject).toBe(RING_HISTORY);
        expect(ring.state.messages).toBe(RING_HISTORY);
        expect((await jsm.streams.info(`KV_${names.membersBucket}`)).config.max_msgs_per_subject).toBe(1);
        expect(await store.read()).toMatchObject({ version: RING_HISTORY + 3, nodes: [{ id: `n${RING_HISTORY + 2}` }] });
        await handle.leave();
      } finally {
        await store.close();
        await members.close();
        await deleteStreams(server().url, prefix);
      }
    });

    it('refuses to work on a members bucket made with another ttl', async () => {
      const nc = await open();
      const prefix = randomNatsPrefix('ttl');
      const first = new NatsMembership({ nats: nc, prefix, ttlMs: 400, heartbeatMs: 100 });
      const other = new NatsMembership({ nats: nc, prefix, ttlMs: 900, heartbeatMs: 300 });
      try {
        await first.join({ id: 'a' });
        const error = await rejectionOf(other.join({ id: 'b' }));
        expect(error).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('max age of 400 ms') });
      } finally {
        await first.close();
        await other.close();
        await deleteStreams(server().url, prefix);
      }
    });

    it('turns a connection closed under the adapters into CLOSED errors, reported once, never a crash', async () => {
      const nc = await connect({ servers: server().url });
      const prefix = randomNatsPrefix('closed');
      const store = new NatsRingStore({ nats: nc, prefix });
      const membership = new NatsMembership({ nats: nc, prefix, ttlMs: 400, heartbeatMs: 100 });
      const errors: Error[] = [];
      await store.compareAndSet(0, [{ id: 'a' }]);
      store.watch(() => undefined, (e) => errors.push(e));
      membership.watch(() => undefined, (e) => errors.push(e));
      await membership.join({ id: 'a' });
      await nc.close();
      await waitFor(() => errors.some((e) => (e as { code?: string }).code === 'CLOSED'));
      expect((await rejectionOf(store.read())).code).toBe('CLOSED');
      expect((await rejectionOf(store.compareAndSet(1, []))).code).toBe('CLOSED');
      expect((await rejectionOf(membership.members())).code).toBe('CLOSED');
      expect((await rejectionOf(membership.join({ id: 'b' }))).code).toBe('CLOSED');
      const count = errors.length;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(errors.length).toBeLessThanOrEqual(count + 1); // no report per heartbeat
      await store.close();
      await membership.close();
      await deleteStreams(server().url, prefix);
    });
  });
});

describe.skipIf(skipWithoutNats('NATS adapters across a server restart'))('NATS adapters across a server restart', () => {
  let server: NatsServer | null = null;
  afterAll(async () => server?.destroy());

  it('recover when the server comes back with an empty store: bucket recreated, members back, watches resumed', async () => {
    server = await NatsServer.start();
    const prefix = randomNatsPrefix('restart');
    const options = { servers: server.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 };
    const nc = await connect(options);
    const watcherNc = await connect(options);
    const store = new NatsRingStore({ nats: nc, prefix });
    const membership = new NatsMembership({ nats: nc, prefix, ttlMs: 600, heartbeatMs: 150 });
    const watcher = new NatsRingStore({ nats: watcherNc, prefix });
    const seen: RingState[] = [];
    const errors: Error[] = [];
    try {
      watcher.watch((s) => seen.push(s), (e) => errors.push(e));
      const first = await store.compareAndSet(0, [{ id: 'a' }]);
      await membership.join({ id: 'a' });
      await waitFor(() => seen.some((s) => s.epoch === first!.epoch));

      await server.restart({ empty: true });
      // The member comes back with the next heartbeat after the reconnect (the bucket is created again).
      await waitFor(async () => (await membership.members().catch(() => [])).some((n) => n.id === 'a'), { timeoutMs: 10_000 });
      expect(await store.read()).toBeNull();
      const again = await store.compareAndSet(0, [{ id: 'a' }]);
      expect(again!.epoch).not.toBe(first!.epoch);
      await waitFor(() => seen.some((s) => s.epoch === again!.epoch), { timeoutMs: 10_000, what: 'the watch to resume' });
    } finally {
      await Promise.allSettled([store.close(), membership.close(), watcher.close()]);
      await Promise.allSettled([nc.close(), watcherNc.close()]);
    }
  });
});
