/**
 * The behaviour every RingStore must have (src/live/contracts.ts), run against
 * each adapter with `ringStoreContract(name, factory)`. The factory makes a
 * fresh, empty backend per test; `create()` opens another store on it, as
 * another process would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RingState, RingStore } from '../../src/live/contracts.js';
import type { RingNode } from '../../src/ring/types.js';
import { rejectionOf, sleep, waitFor } from '../support/wait.js';

/** One empty backend and the stores opened on it. */
export interface RingStoreHarness {
  /** Opens a new store instance on this backend. */
  create(): RingStore | Promise<RingStore>;
  /** Loses every stored datum, as a store restarted without persistence would. */
  wipe(): Promise<void>;
  /** Closes every store and removes the backend's data. */
  cleanup(): Promise<void>;
}

/** How long to wait for something that must not happen (a push after unsubscribe). */
const QUIET_MS = 150;

export function ringStoreContract(name: string, factory: () => RingStoreHarness | Promise<RingStoreHarness>): void {
  describe(`RingStore contract: ${name}`, () => {
    let harness: RingStoreHarness | null = null;
    async function stores(count: number): Promise<RingStore[]> {
      harness ??= await factory();
      const h = harness;
      return Promise.all(Array.from({ length: count }, () => h.create()));
    }
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    /** Makes sure `store`'s watch is live: writes through `writer` until the watcher sees it. Returns the version then stored. */
    async function primeWatch(writer: RingStore, seen: RingState[]): Promise<number> {
      for (let attempt = 0; attempt < 50; attempt++) {
        const current = await writer.read();
        const next = await writer.compareAndSet(current?.version ?? 0, current?.nodes ?? []);
        if (next === null) continue;
        try {
          await waitFor(() => seen.some((s) => s.version >= next.version), { timeoutMs: 200 });
          return next.version;
        } catch {
          // not subscribed yet; write again
        }
      }
      throw new Error('the watch never saw a write');
    }

    describe('read', () => {
      it('resolves to null when nothing was stored', async () => {
        const [store] = await stores(1);
        expect(await store!.read()).toBeNull();
      });

      it('returns what another instance stored, nodes sorted by id and normalized', async () => {
        const [a, b] = await stores(2);
        const nodes: RingNode[] = [{ id: 'c', weight: 2 }, { id: 'a', meta: { url: 'ws://a', az: 'x' } }, { id: 'b' }];
        const written = await a!.compareAndSet(0, nodes);
        const read = await b!.read();
        expect(read).toEqual(written);
        expect(read).toEqual({ epoch: written!.epoch, version: 1, nodes: [{ id: 'a', meta: { az: 'x', url: 'ws://a' } }, { id: 'b' }, { id: 'c', weight: 2 }] });
      });

      it('stores an empty node list as a real state', async () => {
        const [a, b] = await stores(2);
        const written = await a!.compareAndSet(0, []);
        expect(written).toMatchObject({ version: 1, nodes: [] });
        expect(await b!.read()).toEqual(written);
      });
    });

    describe('compareAndSet', () => {
      it('starts at version 1 and bumps the version by exactly one per success', async () => {
        const [store] = await stores(1);
        const epochs = new Set<string>();
        for (let v = 0; v < 5; v++) {
          const state = await store!.compareAndSet(v, [{ id: `n${v}` }]);
          expect(state).toMatchObject({ version: v + 1, nodes: [{ id: `n${v}` }] });
          epochs.add(state!.epoch);
        }
        expect((await store!.read())?.version).toBe(5);
        // The first write created the epoch; later versions keep it.
        expect(epochs.size).toBe(1);
        expect([...epochs][0]).toMatch(/^[A-Za-z0-9-]{1,64}$/);
      });

      it('starts a new epoch after the store lost its data, and refuses a write that expects the old epoch', async () => {
        const [a, b] = await stores(2);
        const first = await a!.compareAndSet(0, [{ id: 'a' }]);
        await a!.compareAndSet(1, [{ id: 'a' }, { id: 'b' }], first!.epoch);
        await harness!.wipe();
        expect(await b!.read()).toBeNull();
        const again = await b!.compareAndSet(0, [{ id: 'a' }]);
        expect(again).toMatchObject({ version: 1, nodes: [{ id: 'a' }] });
        expect(again!.epoch).not.toBe(first!.epoch);
        // A coordinator still holding the old epoch at version 1 cannot write over the new one.
        expect(await a!.compareAndSet(1, [{ id: 'stale' }], first!.epoch)).toBeNull();
        expect(await a!.compareAndSet(1, [{ id: 'a' }, { id: 'c' }], again!.epoch)).toMatchObject({ epoch: again!.epoch, version: 2 });
        expect((await a!.read())?.nodes).toEqual([{ id: 'a' }, { id: 'c' }]);
      });

      it('repair leaves a valid state and an empty store alone (null)', async () => {
        const [a] = await stores(1);
        expect(await a!.repair([{ id: 'x' }])).toBeNull();
        expect(await a!.read()).toBeNull();
        const written = await a!.compareAndSet(0, [{ id: 'a' }]);
        expect(await a!.repair([{ id: 'x' }])).toBeNull();
        expect(await a!.read()).toEqual(written);
        expect((await rejectionOf(a!.repair([{ id: '' }]))).code).toBe('INVALID_NODE');
      });

      it('resolves to null and writes nothing when the version moved on', async () => {
        const [a, b] = await stores(2);
        await a!.compareAndSet(0, [{ id: 'a' }]);
        await a!.compareAndSet(1, [{ id: 'a' }, { id: 'b' }]);
        expect(await b!.compareAndSet(1, [{ id: 'stale' }])).toBeNull();
        expect(await b!.compareAndSet(0, [{ id: 'stale' }])).toBeNull();
        expect(await b!.compareAndSet(7, [{ id: 'future' }])).toBeNull();
        expect(await b!.read()).toMatchObject({ version: 2, nodes: [{ id: 'a' }, { id: 'b' }] });
      });

      it('rejects invalid nodes with INVALID_NODE and duplicate ids with DUPLICATE_NODE, storing nothing', async () => {
        const [a, b] = await stores(2);
        await a!.compareAndSet(0, [{ id: 'keep' }]);
        const pushed: RingState[] = [];
        const stop = b!.watch((s) => pushed.push(s));
        const bad: unknown[] = [
          [{ id: '' }],
          [{ id: 'x', weight: -1 }],
          [{ id: 'x', weight: Number.NaN }],
          [{ id: 'x', meta: { n: 1 } }],
          [{ nope: true }],
          [null],
          'not-a-list',
        ];
        for (const nodes of bad) {
          const error = await rejectionOf(a!.compareAndSet(1, nodes as RingNode[]));
          expect(error.name, JSON.stringify(nodes)).toBe('RingError');
          expect(error.code, JSON.stringify(nodes)).toBe('INVALID_NODE');
        }
        const duplicate = await rejectionOf(a!.compareAndSet(1, [{ id: 'x' }, { id: 'y' }, { id: 'x', weight: 2 }]));
        expect(duplicate.code).toBe('DUPLICATE_NODE');
        expect(duplicate.message).toContain('"x"');
        expect(await b!.read()).toMatchObject({ version: 1, nodes: [{ id: 'keep' }] });
        // The version was not consumed either.
        expect(await a!.compareAndSet(1, [{ id: 'next' }])).toMatchObject({ version: 2, nodes: [{ id: 'next' }] });
        stop();
        expect(pushed.every((s) => s.version !== 0 && s.nodes.every((n) => n.id === 'keep' || n.id === 'next'))).toBe(true);
      });

      it('lets exactly one of several instances win the same version', async () => {
        const all = await stores(5);
        await all[0]!.compareAndSet(0, []);
        const results = await Promise.all(all.map((store, i) => store.compareAndSet(1, [{ id: `winner-${i}` }])));
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.version).toBe(2);
        expect(await all[1]!.read()).toEqual(winners[0]);
      });

      it('loses no update when 5 instances each add 40 ids with read-modify-CAS-retry loops', async () => {
        const all = await stores(5);
        async function addAll(store: RingStore, worker: number): Promise<void> {
          for (let k = 0; k < 40; k++) {
            for (;;) {
              const current = await store.read();
              const nodes = [...(current?.nodes ?? []), { id: `w${worker}-${k}` }];
              if ((await store.compareAndSet(current?.version ?? 0, nodes)) !== null) break;
            }
          }
        }
        await Promise.all(all.map((store, i) => addAll(store, i)));
        const end = await all[0]!.read();
        expect(end?.version).toBe(200);
        expect(end?.nodes).toHaveLength(200);
        const ids = new Set(end?.nodes.map((n) => n.id));
        for (let w = 0; w < 5; w++) for (let k = 0; k < 40; k++) expect(ids.has(`w${w}-${k}`)).toBe(true);
      });
    });

    describe('watch', () => {
      it('pushes every new state written by another instance', async () => {
        const [writer, reader] = await stores(2);
        const seen: RingState[] = [];
        const stop = reader!.watch((s) => seen.push(s));
        const start = await primeWatch(writer!, seen);
        const written: RingState[] = [];
        for (let i = 1; i <= 5; i++) {
          const state = await writer!.compareAndSet(start + i - 1, [{ id: `n${i}` }, { id: 'base' }]);
          expect(state).not.toBeNull();
          written.push(state!);
        }
        await waitFor(() => seen.some((s) => s.version === start + 5), { what: 'the last pushed version' });
        const after = seen.filter((s) => s.version > start);
        // Every state arrives; the contract allows duplicates and any order.
        for (const state of written) expect(after).toContainEqual(state);
        stop();
      });

      it('pushes to every watcher, including watchers on the writing instance', async () => {
        const [a, b, c] = await stores(3);
        const onA: RingState[] = [];
        const onB: RingState[] = [];
        const onB2: RingState[] = [];
        const stops = [a!.watch((s) => onA.push(s)), b!.watch((s) => onB.push(s)), b!.watch((s) => onB2.push(s))];
        const start = await primeWatch(c!, onA);
        await waitFor(() => onB.some((s) => s.version >= start) && onB2.some((s) => s.version >= start));
        const state = await a!.compareAndSet(start, [{ id: 'everyone' }]);
        for (const seen of [onA, onB, onB2]) {
          await waitFor(() => seen.some((s) => s.version === state!.version && s.nodes[0]?.id === 'everyone'));
        }
        for (const stop of stops) stop();
      });

      it('stops pushing to a listener after its unsubscribe function is called', async () => {
        const [writer, reader] = await stores(2);
        const kept: RingState[] = [];
        const dropped: RingState[] = [];
        const stopKept = reader!.watch((s) => kept.push(s));
        const stopDropped = reader!.watch((s) => dropped.push(s));
        const start = await primeWatch(writer!, kept);
        await waitFor(() => dropped.some((s) => s.version >= start));
        stopDropped();
        stopDropped(); // idempotent
        const countBefore = dropped.length;
        await writer!.compareAndSet(start, [{ id: 'after-unsubscribe' }]);
        await waitFor(() => kept.some((s) => s.version === start + 1));
        await sleep(QUIET_MS);
        expect(dropped.length).toBe(countBefore);
        stopKept();
      });
    });

    describe('close', () => {
      it('stops watches and leaves the stored state to other instances', async () => {
        const [a, b] = await stores(2);
        const seen: RingState[] = [];
        a!.watch((s) => seen.push(s));
        const start = await primeWatch(b!, seen);
        await a!.close();
        await a!.close(); // idempotent
        const count = seen.length;
        expect(await b!.compareAndSet(start, [{ id: 'after-close' }])).not.toBeNull();
        await sleep(QUIET_MS);
        expect(seen.length).toBe(count);
        expect(await b!.read()).toMatchObject({ version: start + 1, nodes: [{ id: 'after-close' }] });
      });

      it('rejects read and compareAndSet after close with CLOSED', async () => {
        const [a] = await stores(1);
        await a!.close();
        expect((await rejectionOf(a!.read())).code).toBe('CLOSED');
        expect((await rejectionOf(a!.compareAndSet(0, []))).code).toBe('CLOSED');
        expect((await rejectionOf(a!.repair([]))).code).toBe('CLOSED');
      });
    });
  });
}
