/** The live-routing contract (RingCoordinator + RingRouter) over the NATS adapters on a private nats-server. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { NatsMembership, NatsRingStore, RING_KEY, natsNames } from '../../../src/adapters/nats/index.js';
import { liveRoutingContract, type LiveBackend } from '../../contract/live-routing.contract.js';
import { NatsCluster, randomNatsPrefix, skipWithoutNats, useNatsServer } from '../../support/nats-server.js';

async function liveBackend(urls: string[], replicas = 1): Promise<LiveBackend> {
  const prefix = randomNatsPrefix('live');
  const names = natsNames(prefix);
  const connections: NatsConnection[] = [];
  const closers: Array<() => Promise<void>> = [];
  // One connection per simulated process would be closer to production, but a connection per handle is enough
  // to keep the handles apart; share a few to keep the server's client count low.
  const pool = await Promise.all(
    Array.from({ length: 4 }, (_, i) => connect({ servers: [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)], noRandomize: true })),
  );
  connections.push(...pool);
  let next = 0;
  const nc = () => pool[next++ % pool.length]!;
  return {
    store() {
      const store = new NatsRingStore({ nats: nc(), prefix, replicas, timeoutMs: 5000 });
      closers.push(() => store.close());
      return store;
    },
    membership(timing) {
      const membership = new NatsMembership({ nats: nc(), prefix, replicas, ...timing });
      closers.push(() => membership.close());
      return membership;
    },
    async wipeStore() {
      const jsm = await jetstreamManager(pool[0]!, { checkAPI: false });
      await jsm.streams.purge(`KV_${names.ringBucket}`, { filter: `$KV.${names.ringBucket}.${RING_KEY}` });
    },
    async cleanup() {
      await Promise.allSettled(closers.splice(0).map((close) => close()));
      const jsm = await jetstreamManager(pool[0]!, { checkAPI: false });
      for (const bucket of [names.ringBucket, names.membersBucket]) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
      await Promise.allSettled(connections.map((c) => c.close()));
    },
  };
}

describe.skipIf(skipWithoutNats('live routing over NATS'))('live routing over NATS', () => {
  const server = useNatsServer();
  liveRoutingContract('NATS (single server)', () => liveBackend([server().url]));
});

describe.skipIf(skipWithoutNats('live routing over a 3-server NATS cluster'))('live routing over a 3-server NATS cluster', () => {
  let cluster: NatsCluster | null = null;
  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    // Wait for the JetStream meta leader: a replicated bucket can be created and used.
    const backend = await liveBackend(cluster.urls, 3);
    const store = backend.store();
    for (let attempt = 0; ; attempt++) {
      try {
        await store.compareAndSet(0, []);
        break;
      } catch (error) {
        if (attempt > 120) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    await backend.cleanup();
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  liveRoutingContract('NATS cluster (3 servers, 3 replicas)', () => liveBackend(cluster!.urls, 3));
});
