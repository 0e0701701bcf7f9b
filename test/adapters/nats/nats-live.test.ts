/** The live-routing contract (RingCoordinator + RingRouter) over the NATS adapters on a private nats-server. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe } from 'vitest';
import { NatsMembership, NatsRingStore, RING_KEY, natsNames } from '../../../src/adapters/nats/index.js';
import { liveRoutingContract, type LiveBackend } from '../../contract/live-routing.contract.js';
import { randomNatsPrefix, skipWithoutNats, useNatsServer, type NatsServer } from '../../support/nats-server.js';

async function liveBackend(server: NatsServer): Promise<LiveBackend> {
  const prefix = randomNatsPrefix('live');
  const names = natsNames(prefix);
  const connections: NatsConnection[] = [];
  const closers: Array<() => Promise<void>> = [];
  // One connection per simulated process would be closer to production, but a connection per handle is enough
  // to keep the handles apart; share a few to keep the server's client count low.
  const pool = await Promise.all(Array.from({ length: 4 }, () => connect({ servers: server.url })));
  connections.push(...pool);
  let next = 0;
  const nc = () => pool[next++ % pool.length]!;
  return {
    store() {
      const store = new NatsRingStore({ nats: nc(), prefix });
      closers.push(() => store.close());
      return store;
    },
    membership(timing) {
      const membership = new NatsMembership({ nats: nc(), prefix, ...timing });
      closers.push(() => membership.close());
      return membership;
    },
    async wipeStore() {
      const jsm = await jetstreamManager(pool[0]!);
      await jsm.streams.purge(`KV_${names.ringBucket}`, { filter: `$KV.${names.ringBucket}.${RING_KEY}` });
    },
    async cleanup() {
      await Promise.allSettled(closers.splice(0).map((close) => close()));
      const jsm = await jetstreamManager(pool[0]!);
      for (const bucket of [names.ringBucket, names.membersBucket]) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
      await Promise.allSettled(connections.map((c) => c.close()));
    },
  };
}

describe.skipIf(skipWithoutNats('live routing over NATS'))('live routing over NATS', () => {
  const server = useNatsServer();
  liveRoutingContract('NATS (single server)', () => liveBackend(server()));
});
