/**
 * The NATS adapters on a 3-server JetStream cluster started on loopback
 * (buckets with 3 replicas): the ring-store contract, and the stream leader
 * killed under a stream of compare-and-sets without losing one acknowledged
 * write.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsMembership, NatsRingStore, NatsTransport, natsNames } from '../../../src/adapters/nats/index.js';
import type { MembershipAdapter, RingState, RingStore } from '../../../src/live/contracts.js';
import { membershipContract } from '../../contract/membership.contract.js';
import { ringStoreContract, type RingStoreHarness } from '../../contract/ring-store.contract.js';
import { NatsCluster, randomNatsPrefix, skipWithoutNats } from '../../support/nats-server.js';
import { sleep, waitFor, waitForTimed } from '../../support/wait.js';

/** A connection that prefers server `first` of the cluster and fails over to the others. */
function connectTo(cluster: NatsCluster, first: number): Promise<NatsConnection> {
  const urls = cluster.urls;
  const ordered = [...urls.slice(first % urls.length), ...urls.slice(0, first % urls.length)];
  return connect({ servers: ordered, noRandomize: true, reconnectTimeWait: 100, maxReconnectAttempts: -1, timeout: 2000 });
}

/** Waits until JetStream in the cluster can create a replicated stream (the meta leader is elected). */
async function waitForJetStream(cluster: NatsCluster): Promise<void> {
  const nc = await connectTo(cluster, 0);
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
    // A replicated stream that takes a write and answers a read: the meta leader and a stream leader are elected.
    await waitFor(
      async () => {
        await jsm.streams.add({ name: 'rr-probe', subjects: ['rr-probe.>'], num_replicas: 3 });
        const js = jsm.jetstream();
        await js.publish('rr-probe.x', 'x', { timeout: 2000 });
        return (await jsm.streams.getMessage('rr-probe', { last_by_subj: 'rr-probe.x' })) !== null;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'JetStream to accept a stream with 3 replicas' },
    );
    await jsm.streams.delete('rr-probe');
  } finally {
    await nc.close();
  }
}

async function deleteStreams(cluster: NatsCluster, prefix: string): Promise<void> {
  const nc = await connectTo(cluster, 0);
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
    const names = natsNames(prefix);
    for (const bucket of [names.ringBucket, names.membersBucket]) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  } finally {
    await nc.close();
  }
}

// Every write is replicated to a majority through Raft before it is acknowledged: slower than one server.
describe.skipIf(skipWithoutNats('NATS adapters on a 3-server JetStream cluster'))('NATS adapters on a 3-server JetStream cluster', { timeout: 30_000 }, () => {
  let cluster: NatsCluster | null = null;
  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    await waitForJetStream(cluster);
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  ringStoreContract('NatsRingStore (3-server cluster, 3 replicas)', () => {
    const prefix = randomNatsPrefix('cstore');
    const opened: Array<{ store: RingStore; nc: NatsConnection }> = [];
    let next = 0;
    return {
      async create() {
        const nc = await connectTo(cluster!, next++);
        const store = new NatsRingStore({ nats: nc, prefix, replicas: 3, timeoutMs: 5000 });
        opened.push({ store, nc });
        return store;
      },
      wipe: () => deleteStreams(cluster!, prefix),
      async cleanup() {
        await Promise.all(opened.map(({ store }) => store.close()));
        await Promise.all(opened.map(({ nc }) => nc.close()));
        await deleteStreams(cluster!, prefix);
      },
    };
  });

  membershipContract('NatsMembership (3-server cluster, 3 replicas)', () => {
    const prefix = randomNatsPrefix('cmembers');
    const opened: Array<{ adapter: MembershipAdapter; nc: NatsConnection }> = [];
    let next = 0;
    return {
      ttlMs: 1000,
      expireWithinMs: 1000 + 250 + 1500,
      async create() {
        const nc = await connectTo(cluster!, next++);
        const adapter = new NatsMembership({ nats: nc, prefix, ttlMs: 1000, heartbeatMs: 250, replicas: 3 });
        opened.push({ adapter, nc });
        return adapter;
      },
      async cleanup() {
        await Promise.all(opened.map(({ adapter }) => adapter.close()));
        await Promise.all(opened.map(({ nc }) => nc.close()));
        await deleteStreams(cluster!, prefix);
      },
    };
  });

  it('NatsTransport carries messages between clients of different servers, and 0 means nobody listens anywhere', async () => {
    const prefix = randomNatsPrefix('ctransport');
    const [onFirst, onLast] = await Promise.all([connectTo(cluster!, 0), connectTo(cluster!, 2)]);
    const listener = new NatsTransport({ nats: onFirst, prefix });
    const sender = new NatsTransport({ nats: onLast, prefix });
    try {
      const heard: string[] = [];
      await listener.listen('node-a', (m) => heard.push(m));
      // The subscription reaches the other servers over the routes a moment later: until then 0 (nobody, there).
      const { ms: propagatedMs } = await waitForTimed(async () => (await sender.publish('node-a', 'probe')) === 1, { timeoutMs: 5000, what: 'the subscription to reach server 3' });
      const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
      const results = await Promise.all(sent.map((m) => sender.publish('node-a', m)));
      expect(results.every((r) => r === 1)).toBe(true);
      await waitFor(() => heard.filter((m) => m !== 'probe').length >= sent.length, { what: 'every message across the cluster' });
      expect(heard.filter((m) => m !== 'probe')).toEqual(sent); // in order, once each
      expect(await sender.publish('node-b', 'x')).toBe(0);
      console.info(`[NATS cluster transport] subscription known on another server after ${propagatedMs.toFixed(0)} ms; 500 messages across servers, in order, once each`);
    } finally {
      await listener.close();
      await sender.close();
      await Promise.allSettled([onFirst.close(), onLast.close()]);
    }
  });
});

describe.skipIf(skipWithoutNats('NATS ring store when the stream leader dies'))('NATS ring store when the stream leader dies', () => {
  let cluster: NatsCluster | null = null;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('loses no acknowledged ring write when the stream leader is killed', async () => {
    cluster = await NatsCluster.start(3);
    await waitForJetStream(cluster);
    const prefix = randomNatsPrefix('leader');
    const stream = `KV_${natsNames(prefix).ringBucket}`;
    const connections = await Promise.all([0, 1, 2].map((i) => connectTo(cluster!, i)));
    const stores = connections.map((nc) => new NatsRingStore({ nats: nc, prefix, replicas: 3, timeoutMs: 3000 }));
    const acked = new Map<number, RingState>();
    const failures: string[] = [];
    let stop = false;
    try {
      await stores[0]!.compareAndSet(0, [{ id: 'w-start' }]);
      const writer = async (store: NatsRingStore, w: number): Promise<void> => {
        for (let k = 0; !stop; k++) {
          try {
            const current = await store.read();
            if (current === null) continue;
            const next = await store.compareAndSet(current.version, [...current.nodes.filter((n) => n.id !== `w${w}`), { id: `w${w}`, meta: { k: String(k) } }], current.epoch);
            if (next === null) continue;
            if (acked.has(next.version)) failures.push(`version ${next.version} acknowledged twice`);
            acked.set(next.version, next);
          } catch (error) {
            failures.length < 1000 && failures.push(`w${w}: ${(error as Error).message}`);
            await sleep(50);
          }
        }
      };
      const writers = stores.map((store, w) => writer(store, w));
      await waitFor(() => acked.size >= 30, { timeoutMs: 10_000, what: 'writes before the kill' });

      const jsm = await jetstreamManager(connections[0]!, { timeout: 5000, checkAPI: false });
      const leaderName = (await jsm.streams.info(stream)).cluster?.leader;
      const leader = cluster.servers.findIndex((_, i) => leaderName?.endsWith(`-${i}`));
      expect(leader).toBeGreaterThanOrEqual(0);
      const before = acked.size;
      const killedAt = performance.now();
      await cluster.servers[leader]!.kill();
      // Writes go on once a new leader is elected.
      await waitFor(() => acked.size >= before + 30, { timeoutMs: 30_000, intervalMs: 50, what: 'writes after the kill' });
      const resumedMs = performance.now() - killedAt;
      stop = true;
      await Promise.all(writers);

      const survivor = stores[(leader + 1) % 3]!;
      const final = await survivor.read();
      const versions = [...acked.keys()].sort((a, b) => a - b);
      const last = versions.at(-1)!;
      expect(final!.version).toBe(last);
      expect(final).toEqual(acked.get(last));
      // Every acknowledged version is a distinct step of one chain in one epoch.
      expect(new Set([...acked.values()].map((s) => s.epoch)).size).toBe(1);
      expect(failures.filter((f) => f.includes('twice'))).toEqual([]);
      console.info(
        `[NATS cluster] stream leader ${leaderName} killed after ${before} acknowledged writes; writes resumed ${resumedMs.toFixed(0)} ms later; ${acked.size} acknowledged, final version ${final!.version}, none lost; ${failures.length} failed calls during the election`,
      );
    } finally {
      stop = true;
      await Promise.allSettled(stores.map((s) => s.close()));
      await Promise.allSettled(connections.map((nc) => nc.close()));
    }
  }, 90_000);
});
