/**
 * The ring-store and membership contract suites against the NATS adapters on
 * a private nats-server with JetStream, plus what is specific to NATS.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe } from 'vitest';
import { NatsMembership, NatsRingStore, natsNames } from '../../../src/adapters/nats/index.js';
import type { MembershipAdapter, RingStore } from '../../../src/live/contracts.js';
import { membershipContract, type MembershipHarness } from '../../contract/membership.contract.js';
import { ringStoreContract, type RingStoreHarness } from '../../contract/ring-store.contract.js';
import { randomNatsPrefix, skipWithoutNats, useNatsServer, type NatsServer } from '../../support/nats-server.js';

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
});
