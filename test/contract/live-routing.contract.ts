/**
 * The live-routing contract: RingCoordinator and RingRouter over any pair of
 * adapters. Every adapter pair (memory, Redis, Redis Cluster) runs it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RingCoordinator, RingRouter, type MembershipAdapter, type RingNode, type RingStore } from '../../src/index.js';
import { sleep, waitFor, waitForTimed } from '../support/wait.js';

/** One simulated process's view of a shared backend. */
export interface LiveBackend {
  /** A new store handle on the shared ring (as another process would open). */
  store(): RingStore;
  /** A new membership handle on the shared membership, with these timings. */
  membership(options: { ttlMs: number; heartbeatMs: number }): MembershipAdapter;
  /** Loses the stored ring, as a store restarted without persistence would (membership stays). */
  wipeStore(): Promise<void>;
  /** Closes everything the backend opened. */
  cleanup(): Promise<void>;
}

/** Member handles that can also die silently. */
interface Killable {
  leave(): Promise<void>;
  abandon?: () => void;
}

const KEYS = Array.from({ length: 2000 }, (_, i) => `user:${i}`);

/** Owner ids of the sample keys, or '' for an empty ring. */
function owners(router: RingRouter): string {
  return router.ring.size === 0 ? '' : KEYS.map((k) => router.lookup(k).id).join(',');
}

function agree(routers: RingRouter[], expectedIds: string[]): boolean {
  const first = routers[0]!;
  const ids = first.ring.nodes().map((n) => n.id);
  if (ids.join(',') !== [...expectedIds].sort().join(',')) return false;
  const o = owners(first);
  return routers.every((r) => r.version === first.version && owners(r) === o);
}

export function liveRoutingContract(name: string, makeBackend: () => Promise<LiveBackend>): void {
  describe(`live routing over ${name}`, () => {
    const closers: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    });

    async function cluster(options: { routers: number; coordinators: number; ttlMs?: number; settleMs?: number }) {
      const backend = await makeBackend();
      closers.push(() => backend.cleanup());
      const timing = { ttlMs: options.ttlMs ?? 600, heartbeatMs: Math.round((options.ttlMs ?? 600) / 4) };
      const coordinators: RingCoordinator[] = [];
      for (let i = 0; i < options.coordinators; i++) {
        const c = await RingCoordinator.start({ membership: backend.membership(timing), store: backend.store(), settleMs: options.settleMs ?? 20, resyncMs: 500 });
        closers.push(() => c.close());
        coordinators.push(c);
      }
      const routers: RingRouter[] = [];
      for (let i = 0; i < options.routers; i++) {
        const r = await RingRouter.start({ store: backend.store(), resyncMs: 200 });
        r.on('error', () => undefined);
        closers.push(() => r.close());
        routers.push(r);
      }
      const nodes = backend.membership(timing);
      return { backend, coordinators, routers, nodes, timing };
    }

    it('converges every router on the same ring after joins and leaves', async () => {
      const { routers, nodes } = await cluster({ routers: 3, coordinators: 2 });
      const a = await nodes.join({ id: 'node-a', meta: { url: 'ws://a' } });
      await nodes.join({ id: 'node-b', weight: 2 });
      const join = await waitForTimed(() => agree(routers, ['node-a', 'node-b']), { what: 'routers to agree after joins' });
      await a.leave();
      const leave = await waitForTimed(() => agree(routers, ['node-b']), { what: 'routers to agree after a leave' });
      expect(routers[0]!.lookup('user:1').id).toBe('node-b');
      console.info(`[${name}] convergence: join ${join.ms.toFixed(1)} ms, leave ${leave.ms.toFixed(1)} ms`);
    });

    it('expires a member that stops heartbeating and converges within ttl + 1 s', async () => {
      const { routers, nodes, timing } = await cluster({ routers: 2, coordinators: 1 });
      await nodes.join({ id: 'node-a' });
      const b = (await nodes.join({ id: 'node-b' })) as Killable;
      await waitFor(() => agree(routers, ['node-a', 'node-b']), { what: 'routers to see both nodes' });
      expect(typeof b.abandon).toBe('function');
      b.abandon!();
      const died = await waitForTimed(() => agree(routers, ['node-a']), { timeoutMs: timing.ttlMs + 1000, what: 'the dead node to expire' });
      console.info(`[${name}] silent death (ttl ${timing.ttlMs} ms) converged in ${died.ms.toFixed(0)} ms`);
    });

    it('starts a new epoch holding the same nodes after the store lost its data, moving no key', async () => {
      const { backend, routers, nodes, timing } = await cluster({ routers: 2, coordinators: 2 });
      await nodes.join({ id: 'node-a' });
      await nodes.join({ id: 'node-b', weight: 2 });
      await waitFor(() => agree(routers, ['node-a', 'node-b']), { what: 'routers to agree' });
      const epoch = routers[0]!.epoch;
      const moved: number[] = [];
      for (const r of routers) r.on('change', (diff) => moved.push(diff.movedFraction));
      await backend.wipeStore();
      const adopted = await waitForTimed(() => routers.every((r) => r.epoch !== epoch) && agree(routers, ['node-a', 'node-b']), {
        timeoutMs: timing.ttlMs + 2000,
        what: 'routers to adopt the new epoch',
      });
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.every((f) => f === 0)).toBe(true);
      console.info(`[${name}] store lost its data: new epoch adopted by every router ${adopted.ms.toFixed(0)} ms later (grace = ttl ${timing.ttlMs} ms), no key moved`);
    });

    it('settles a member that leaves and comes straight back into no rebalance', async () => {
      const { routers, nodes } = await cluster({ routers: 1, coordinators: 1, settleMs: 300 });
      const a = await nodes.join({ id: 'node-a' });
      await waitFor(() => agree(routers, ['node-a']), { what: 'the first join' });
      const version = routers[0]!.version;
      await a.leave();
      await nodes.join({ id: 'node-a' });
      await sleep(800);
      expect(routers[0]!.version).toBe(version);
      expect(agree(routers, ['node-a'])).toBe(true);
    });

    it('loses no update with 5 coordinators and 200 concurrent joins and leaves', async () => {
      const { backend, routers, timing } = await cluster({ routers: 2, coordinators: 5, ttlMs: 5000 });
      const handles = Array.from({ length: 4 }, () => backend.membership(timing));
      // Operations on different ids run concurrently; those on one id run in order, as one process would.
      const chains = new Map<string, Promise<{ leave(): Promise<void> } | undefined>>();
      const live = new Set<string>();
      let seed = 42;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < 200; i++) {
        const id = `node-${random(30)}`;
        const previous = chains.get(id) ?? Promise.resolve(undefined);
        let next: Promise<{ leave(): Promise<void> } | undefined>;
        if (live.has(id)) {
          live.delete(id);
          next = previous.then(async (member) => {
            await member!.leave();
            return undefined;
          });
        } else {
          live.add(id);
          const handle = handles[random(handles.length)]!;
          const weight = 1 + random(3);
          next = previous.then(() => handle.join({ id, weight }));
        }
        chains.set(id, next);
        ops.push(next);
        if (i % 20 === 0) await sleep(1);
      }
      await Promise.all(ops);
      const store = backend.store();
      const converged = await waitForTimed(async () => {
        const state = await store.read();
        return state !== null && state.nodes.map((n: RingNode) => n.id).join(',') === [...live].sort().join(',') && agree(routers, [...live]);
      }, { timeoutMs: 8000, what: 'store and routers to equal the live membership' });
      const members = await handles[0]!.members();
      expect(members.map((n) => n.id)).toEqual([...live].sort());
      console.info(`[${name}] 200 operations, 5 coordinators: store equal to membership ${converged.ms.toFixed(0)} ms after the last one`);
    });
  });
}
