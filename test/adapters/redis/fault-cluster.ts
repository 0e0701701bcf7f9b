/**
 * A small live cluster over one real redis-server for the fault tests:
 * member adapters that heartbeat, coordinators, and routers, each with its own
 * ioredis connection as separate processes would have, plus logs of every
 * ring change, write and error.
 */
import { Redis } from 'ioredis';
import { RingCoordinator, RingRouter, type RingDiff, type RingState } from '../../../src/index.js';
import { RedisMembership, RedisRingStore, type RedisClient, type RedisMembershipHandle } from '../../../src/adapters/redis/index.js';
import { randomPrefix } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait.js';

export const KEYS = Array.from({ length: 2000 }, (_, i) => `user:${i}`);

export interface Timing {
  readonly ttlMs: number;
  readonly heartbeatMs: number;
}

export interface FaultCluster {
  readonly prefix: string;
  readonly routers: RingRouter[];
  readonly coordinators: RingCoordinator[];
  readonly members: Map<string, RedisMembershipHandle>;
  /** Every change applied by each router, in order. */
  readonly changes: Array<Array<{ diff: RingDiff; state: RingState; at: number }>>;
  readonly writes: Array<{ state: RingState; at: number }>;
  readonly routerErrors: Error[];
  readonly coordinatorErrors: Error[];
  readonly memberErrors: Error[];
  /** A plain client for the test's own commands. */
  readonly admin: Redis;
  client(): Redis;
  /** Ids on every router, when they all agree on version and owners; else null. */
  agreed(): string | null;
  /** Owner of each sample key on router 0. */
  owners(): string[];
  close(): Promise<void>;
}

export async function startFaultCluster(
  url: string,
  options: {
    members: string[];
    routers: number;
    coordinators: number;
    timing: Timing;
    routerResyncMs?: number;
    readTimeoutMs?: number;
    wrap?: (client: Redis) => RedisClient;
    /** Use the library's defaults for the coordinators' and routers' timings (only `timing` is set). */
    defaults?: boolean;
  },
): Promise<FaultCluster> {
  const prefix = randomPrefix('fault');
  const clients: Redis[] = [];
  const closers: Array<() => Promise<void>> = [];
  const client = (): Redis => {
    const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const wrap = options.wrap ?? ((c: Redis) => c);
  const { timing } = options;
  const memberErrors: Error[] = [];
  const coordinatorErrors: Error[] = [];
  const routerErrors: Error[] = [];
  const writes: FaultCluster['writes'] = [];
  const members = new Map<string, RedisMembershipHandle>();
  for (const id of options.members) {
    const adapter = new RedisMembership({ redis: client(), prefix, ...timing, onError: (e) => memberErrors.push(e) });
    closers.push(() => adapter.close());
    members.set(id, await adapter.join({ id }));
  }
  const coordinators: RingCoordinator[] = [];
  for (let i = 0; i < options.coordinators; i++) {
    const membership = new RedisMembership({ redis: client(), prefix, ...timing, onError: () => undefined });
    const store = new RedisRingStore({ redis: wrap(client()), prefix });
    const coordinator = await RingCoordinator.start(
      options.defaults ? { membership, store } : { membership, store, settleMs: 20, resyncMs: 300, timeoutMs: 300 },
    );
    coordinator.on('error', (e) => coordinatorErrors.push(e));
    coordinator.on('write', (state) => writes.push({ state, at: performance.now() }));
    coordinators.push(coordinator);
    closers.push(async () => {
      await coordinator.close();
      await membership.close();
      await store.close();
    });
  }
  const routers: RingRouter[] = [];
  const changes: FaultCluster['changes'] = [];
  for (let i = 0; i < options.routers; i++) {
    const store = new RedisRingStore({ redis: wrap(client()), prefix });
    const router = await RingRouter.start(
      options.defaults ? { store } : { store, resyncMs: options.routerResyncMs ?? 100, readTimeoutMs: options.readTimeoutMs ?? 300 },
    );
    const log: FaultCluster['changes'][number] = [];
    changes.push(log);
    router.on('change', (diff, state) => log.push({ diff, state, at: performance.now() }));
    router.on('error', (e) => routerErrors.push(e));
    routers.push(router);
    closers.push(async () => {
      await router.close();
      await store.close();
    });
  }
  const admin = client();
  const ownersOf = (router: RingRouter): string[] => (router.ring.size === 0 ? [] : KEYS.map((k) => router.lookup(k).id));
  const cluster: FaultCluster = {
    prefix,
    routers,
    coordinators,
    members,
    changes,
    writes,
    routerErrors,
    coordinatorErrors,
    memberErrors,
    admin,
    client,
    agreed() {
      const first = routers[0]!;
      const owners = ownersOf(first).join(',');
      const same = routers.every((r) => r.version === first.version && r.epoch === first.epoch && ownersOf(r).join(',') === owners);
      return same ? first.ring.nodes().map((n) => n.id).join(',') : null;
    },
    owners: () => ownersOf(routers[0]!),
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      for (const c of clients) c.disconnect();
    },
  };
  const all = [...options.members].sort().join(',');
  await waitFor(() => cluster.agreed() === all, { what: `every router to hold ${all}`, timeoutMs: 5000 });
  return cluster;
}

/** Keys whose owner differs between two owner lists. */
export function movedKeys(before: string[], after: string[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return moved;
}
