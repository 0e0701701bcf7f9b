/**
 * The behaviour every MembershipAdapter must have (src/live/contracts.ts), run
 * against each adapter with `membershipContract(name, factory)`. The factory
 * makes a fresh, empty backend per test; `create()` opens another adapter on
 * it, as another process would. Handles returned by `join` must also have
 * `abandon()` (stop heartbeating without leaving, like a crashed process).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Membership, MembershipAdapter, MembershipEvent } from '../../src/live/contracts.js';
import { rejectionOf, sleep, waitFor } from '../support/wait.js';

/** One empty backend and the adapters opened on it. */
export interface MembershipHarness {
  /** Opens a new adapter instance on this backend. */
  create(): MembershipAdapter | Promise<MembershipAdapter>;
  /** Time after which a member that stopped heartbeating must have been reported as `expire` (ttl + reaper period + slack). */
  readonly expireWithinMs: number;
  /** The adapters' ttl (also what `ttlMs` on every adapter must say): a heartbeating member must outlive several of these. */
  readonly ttlMs: number;
  /** Closes every adapter and removes the backend's data. */
  cleanup(): Promise<void>;
}

type Abandonable = Membership & { abandon(): void };

function abandonable(membership: Membership): Abandonable {
  const candidate = membership as Partial<Abandonable>;
  if (typeof candidate.abandon !== 'function') throw new Error('the Membership returned by join() has no abandon() method');
  return membership as Abandonable;
}

const PROBE = '~probe-';

export function membershipContract(name: string, factory: () => MembershipHarness | Promise<MembershipHarness>): void {
  describe(`MembershipAdapter contract: ${name}`, () => {
    let harness: MembershipHarness | null = null;
    async function setup(count: number): Promise<{ h: MembershipHarness; adapters: MembershipAdapter[] }> {
      harness ??= await factory();
      const h = harness;
      return { h, adapters: await Promise.all(Array.from({ length: count }, () => h.create())) };
    }
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    /**
     * Watches `watched` and returns the list of events it receives (probe
     * events excluded), once a probe join through `writer` has been seen, so
     * that the subscription is known to be live.
     */
    async function watchLive(
      watched: MembershipAdapter,
      writer: MembershipAdapter,
    ): Promise<{ events: MembershipEvent[]; errors: Error[]; stop: () => void }> {
      const all: MembershipEvent[] = [];
      const errors: Error[] = [];
      const stop = watched.watch(
        (e) => all.push(e),
        (e) => errors.push(e),
      );
      for (let attempt = 0; ; attempt++) {
        const id = `${PROBE}${attempt}`;
        const probe = await writer.join({ id });
        try {
          await waitFor(() => all.some((e) => e.type === 'join' && e.node.id === id), { timeoutMs: 200 });
          await probe.leave();
          break;
        } catch (error) {
          await probe.leave();
          if (attempt >= 30) throw error;
        }
      }
      return {
        get events() {
          return all.filter((e) => !e.node.id.startsWith(PROBE));
        },
        errors,
        stop,
      };
    }

    it('says its ttlMs, which coordinators use as their grace period', async () => {
      const { h, adapters } = await setup(1);
      expect(adapters[0]!.ttlMs).toBe(h.ttlMs);
    });

    describe('join', () => {
      it('makes the member visible to other instances, normalized, members() sorted by id', async () => {
        const { adapters } = await setup(2);
        const [a, b] = adapters;
        expect(await b!.members()).toEqual([]);
        await a!.join({ id: 'c' });
        await a!.join({ id: 'a', weight: 2, meta: { url: 'ws://a', az: '1' } });
        await b!.join({ id: 'b' });
        expect(await b!.members()).toEqual([{ id: 'a', weight: 2, meta: { az: '1', url: 'ws://a' } }, { id: 'b' }, { id: 'c' }]);
        expect(await a!.members()).toEqual(await b!.members());
      });

      it('reports join to watchers on other instances', async () => {
        const { adapters } = await setup(2);
        const [a, b] = adapters;
        const watch = await watchLive(b!, a!);
        await a!.join({ id: 'n1', meta: { url: 'ws://n1' } });
        await waitFor(() => watch.events.some((e) => e.type === 'join' && e.node.id === 'n1'));
        expect(watch.events).toEqual([{ type: 'join', node: { id: 'n1', meta: { url: 'ws://n1' } } }]);
        watch.stop();
      });

      it('rejects a bad node with INVALID_NODE and registers nothing', async () => {
        const { adapters } = await setup(1);
        const [a] = adapters;
        for (const bad of [{ id: '' }, { id: 'x', weight: 0 }, { id: 'x', meta: { port: 8080 } }, null, 'node-1']) {
          const error = await rejectionOf(a!.join(bad as never));
          expect(error.name).toBe('RingError');
          expect(error.code, JSON.stringify(bad)).toBe('INVALID_NODE');
        }
        expect(await a!.members()).toEqual([]);
      });

      it('rejects a second join of the same id through the same instance with DUPLICATE_NODE', async () => {
        const { adapters } = await setup(1);
        const [a] = adapters;
        const first = await a!.join({ id: 'dup' });
        const error = await rejectionOf(a!.join({ id: 'dup', weight: 3 }));
        expect(error.code).toBe('DUPLICATE_NODE');
        expect(await a!.members()).toEqual([{ id: 'dup' }]);
        await first.leave();
        await a!.join({ id: 'dup', weight: 3 });
        expect(await a!.members()).toEqual([{ id: 'dup', weight: 3 }]);
      });

      it('replaces a live member joined again elsewhere: update when weight or meta changed, no event when identical', async () => {
        const { adapters } = await setup(4);
        const [a, b, c, d] = adapters;
        const watch = await watchLive(c!, a!);
        await a!.join({ id: 'x', meta: { v: '1' } });
        await b!.join({ id: 'x', meta: { v: '1' } }); // identical: a restarted process
        await b!.join({ id: 'marker' });
        await waitFor(() => watch.events.some((e) => e.node.id === 'marker'));
        expect(watch.events.filter((e) => e.node.id === 'x')).toEqual([{ type: 'join', node: { id: 'x', meta: { v: '1' } } }]);
        await d!.join({ id: 'x', weight: 2, meta: { v: '2' } });
        await waitFor(() => watch.events.some((e) => e.type === 'update'));
        expect(watch.events.filter((e) => e.node.id === 'x').at(-1)).toEqual({ type: 'update', node: { id: 'x', weight: 2, meta: { v: '2' } } });
        expect(await a!.members()).toEqual([{ id: 'marker' }, { id: 'x', weight: 2, meta: { v: '2' } }]);
        watch.stop();
      });

      it('keeps a member alive with heartbeats for several ttls', async () => {
        const { h, adapters } = await setup(2);
        const [a, b] = adapters;
        const watch = await watchLive(b!, a!);
        await a!.join({ id: 'alive' });
        await sleep(h.ttlMs * 3);
        expect(await b!.members()).toEqual([{ id: 'alive' }]);
        expect(watch.events.map((e) => e.type)).toEqual(['join']);
        watch.stop();
      });
    });

    describe('leave', () => {
      it('removes the member and reports leave to other instances; a second leave is a no-op', async () => {
        const { adapters } = await setup(2);
        const [a, b] = adapters;
        const watch = await watchLive(b!, a!);
        const m = await a!.join({ id: 'gone', meta: { url: 'ws://gone' } });
        await a!.join({ id: 'stays' });
        await m.leave();
        await m.leave();
        expect(await b!.members()).toEqual([{ id: 'stays' }]);
        await waitFor(() => watch.events.some((e) => e.type === 'leave'));
        expect(watch.events.filter((e) => e.node.id === 'gone')).toEqual([
          { type: 'join', node: { id: 'gone', meta: { url: 'ws://gone' } } },
          { type: 'leave', node: { id: 'gone', meta: { url: 'ws://gone' } } },
        ]);
        // The member stays gone: no heartbeat brings it back.
        await sleep(100);
        expect(await b!.members()).toEqual([{ id: 'stays' }]);
        watch.stop();
      });
    });

    describe('expiry', () => {
      it('reports expire after a member stops heartbeating (abandon), within ttl + reaper period', async () => {
        const { h, adapters } = await setup(2);
        const [a, b] = adapters;
        const watch = await watchLive(b!, a!);
        const m = abandonable(await a!.join({ id: 'crashed', weight: 2 }));
        await a!.join({ id: 'healthy' });
        await waitFor(() => watch.events.length === 2);
        const started = Date.now();
        m.abandon();
        await waitFor(() => watch.events.some((e) => e.type === 'expire'), { timeoutMs: h.expireWithinMs, what: 'an expire event' });
        const took = Date.now() - started;
        expect(took).toBeGreaterThanOrEqual(h.ttlMs * 0.5);
        expect(watch.events.filter((e) => e.type === 'expire')).toEqual([{ type: 'expire', node: { id: 'crashed', weight: 2 } }]);
        expect(await b!.members()).toEqual([{ id: 'healthy' }]);
        watch.stop();
      });

      it('never returns a member whose ttl ran out while the membership was in use', async () => {
        const { h, adapters } = await setup(2);
        const [a, b] = adapters;
        await b!.join({ id: 'alive' }); // keeps the membership in use: time counts
        abandonable(await a!.join({ id: 'dead' })).abandon();
        await sleep(h.expireWithinMs);
        const fresh = (await setup(1)).adapters[0]!;
        expect(await fresh.members()).toEqual([{ id: 'alive' }]);
      });

      it('lets an abandoned id join again through the same instance', async () => {
        const { adapters } = await setup(1);
        const [a] = adapters;
        abandonable(await a!.join({ id: 'phoenix' })).abandon();
        const again = await a!.join({ id: 'phoenix', meta: { gen: '2' } });
        expect(await a!.members()).toEqual([{ id: 'phoenix', meta: { gen: '2' } }]);
        await again.leave();
      });
    });

    describe('watch', () => {
      it('stops calling a listener after its unsubscribe function is called', async () => {
        const { adapters } = await setup(2);
        const [a, b] = adapters;
        const kept = await watchLive(b!, a!);
        const dropped = await watchLive(b!, a!);
        dropped.stop();
        dropped.stop(); // idempotent
        const count = dropped.events.length;
        await a!.join({ id: 'after' });
        await waitFor(() => kept.events.some((e) => e.node.id === 'after'));
        await sleep(150);
        expect(dropped.events.length).toBe(count);
        kept.stop();
      });
    });

    describe('close', () => {
      it('leaves every member the instance joined, reported as leave', async () => {
        const { adapters } = await setup(3);
        const [a, b, c] = adapters;
        const watch = await watchLive(c!, b!);
        await a!.join({ id: 'a1' });
        await a!.join({ id: 'a2' });
        await b!.join({ id: 'b1' });
        await a!.close();
        await a!.close(); // idempotent
        expect(await c!.members()).toEqual([{ id: 'b1' }]);
        await waitFor(() => watch.events.filter((e) => e.type === 'leave').length === 2);
        expect(
          watch.events
            .filter((e) => e.type === 'leave')
            .map((e) => e.node.id)
            .sort(),
        ).toEqual(['a1', 'a2']);
        watch.stop();
      });

      it('rejects join and members after close with CLOSED', async () => {
        const { adapters } = await setup(1);
        await adapters[0]!.close();
        expect((await rejectionOf(adapters[0]!.join({ id: 'late' }))).code).toBe('CLOSED');
        expect((await rejectionOf(adapters[0]!.members())).code).toBe('CLOSED');
      });
    });
  });
}
