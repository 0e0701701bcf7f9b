/**
 * The live-routing contract (RingCoordinator + RingRouter) over the Redis
 * adapters, on a private single server and on a local 3-master Redis Cluster.
 */
import { Cluster, Redis } from 'ioredis';
import { describe } from 'vitest';
import { RedisMembership, RedisRingStore, redisKeys } from '../../../src/adapters/redis/index.js';
import { liveRoutingContract, type LiveBackend } from '../../contract/live-routing.contract.js';
import { randomPrefix, skipWithoutRedis, useRedisCluster, useRedisServer } from '../../support/redis-server.js';

type AnyClient = Redis | Cluster;

function liveBackend(makeClient: () => AnyClient): LiveBackend {
  const prefix = randomPrefix('live');
  const clients: AnyClient[] = [];
  const closers: Array<() => Promise<void>> = [];
  const client = (): AnyClient => {
    const c = makeClient();
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  return {
    store() {
      const store = new RedisRingStore({ redis: client(), prefix });
      closers.push(() => store.close());
      return store;
    },
    membership(timing) {
      const membership = new RedisMembership({ redis: client(), prefix, ...timing });
      closers.push(() => membership.close());
      return membership;
    },
    async wipeStore() {
      await client().del(redisKeys(prefix).ring);
    },
    async cleanup() {
      await Promise.allSettled(closers.splice(0).map((close) => close()));
      const k = redisKeys(prefix);
      const admin = client();
      await admin.del(k.ring, k.members, k.expiry, k.owners, k.clock);
      await Promise.allSettled(clients.splice(0).map((c) => c.quit()));
    },
  };
}

const skipSingle = skipWithoutRedis('live routing over Redis', 'server-or-url');
describe.skipIf(skipSingle)('live routing over Redis', () => {
  const url = useRedisServer();
  liveRoutingContract('Redis (single server)', async () =>
    liveBackend(() => new Redis(url(), { maxRetriesPerRequest: 1, retryStrategy: () => 50 })),
  );
});

const skipCluster = skipWithoutRedis('live routing over a Redis Cluster', 'cluster');
describe.skipIf(skipCluster)('live routing over a Redis Cluster', () => {
  const nodes = useRedisCluster();
  liveRoutingContract('Redis Cluster (3 masters)', async () =>
    liveBackend(() => new Cluster(nodes(), { redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: () => 50 })),
  );
});
