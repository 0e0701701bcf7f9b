import { describe, expect, it } from 'vitest';
import { MemoryMembership, MemoryRingStore, RingCoordinator, RingError, type RingNode, type RingState, type RingStore } from '../../src/index.js';
import { sleep, waitFor } from '../support/wait.js';

describe('RingCoordinator', () => {
  it('writes the current membership before start resolves', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    const store = new MemoryRingStore();
    await membership.join({ id: 'b' });
    await membership.join({ id: 'a', weight: 2, meta: { url: 'ws://a' } });
    const coordinator = await RingCoordinator.start({ membership: membership.connect(), store });
    const state = await store.read();
    expect(state?.version).toBe(1);
    expect(state?.nodes).toEqual([{ id: 'a', weight: 2, meta: { url: 'ws://a' } }, { id: 'b' }]);
    await coordinator.close();
    await membership.close();
  });

  it('writes one version for a burst of joins within settleMs', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    const store = new MemoryRingStore();
    const coordinator = await RingCoordinator.start({ membership: membership.connect(), store, settleMs: 100 });
    const writes: RingState[] = [];
    coordinator.on('write', (s) => writes.push(s));
    for (let i = 0; i < 10; i++) await membership.join({ id: `n${i}` });
    await waitFor(() => writes.length > 0, { what: 'a write' });
    await sleep(250);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.nodes).toHaveLength(10);
    await coordinator.close();
    await membership.close();
  });

  it('does not write when the stored ring already equals membership', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    const store = new MemoryRingStore();
    await membership.join({ id: 'a' });
    const first = await RingCoordinator.start({ membership: membership.connect(), store });
    const second = await RingCoordinator.start({ membership: membership.connect(), store: store.connect() });
    await second.sync();
    expect((await store.read())?.version).toBe(1);
    await first.close();
    await second.close();
    await membership.close();
  });

  it('applies a meta update of a re-joined member', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    const store = new MemoryRingStore();
    const coordinator = await RingCoordinator.start({ membership: membership.connect(), store, settleMs: 5 });
    const other = membership.connect();
    await membership.join({ id: 'a', meta: { url: 'ws://old' } });
    await waitFor(async () => (await store.read())?.nodes[0]?.meta?.url === 'ws://old', { what: 'the first url' });
    await other.join({ id: 'a', meta: { url: 'ws://new' } });
    await waitFor(async () => (await store.read())?.nodes[0]?.meta?.url === 'ws://new', { what: 'the new url' });
    await coordinator.close();
    await other.close();
    await membership.close();
  });

  it('waits graceMs before starting a new epoch when the store lost its data, then writes the whole membership', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    const store = new MemoryRingStore();
    await membership.join({ id: 'a' });
    await membership.join({ id: 'b' });
    const coordinator = await RingCoordinator.start({ membership: membership.connect(), store, settleMs: 5, resyncMs: 50, graceMs: 300 });
    const first = await store.read();
    const writes: RingState[] = [];
    coordinator.on('write', (s) => writes.push(s));
    store.reset();
    const lostAt = Date.now();
    await waitFor(() => writes.length > 0, { timeoutMs: 2000, what: 'the new epoch' });
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(290);
    expect(writes[0]!.epoch).not.toBe(first!.epoch);
    expect(writes[0]!.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    await coordinator.close();
    await membership.close();
  });

  it('holds writes for graceMs after membership could not be read, and retries by itself', async () => {
    const inner = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    await inner.join({ id: 'a' });
    let failing = false;
    const membership = {
      ttlMs: 1000,
      join: (node: RingNode) => inner.join(node),
      members: async () => {
        if (failing) throw new Error('membership unreachable');
        return inner.members();
      },
      watch: (listener: Parameters<MemoryMembership['watch']>[0]) => inner.watch(listener),
      close: () => inner.close(),
    };
    const store = new MemoryRingStore();
    const coordinator = await RingCoordinator.start({ membership, store, settleMs: 5, resyncMs: 50, graceMs: 400 });
    const errors: Error[] = [];
    coordinator.on('error', (e) => errors.push(e));
    failing = true;
    await inner.join({ id: 'b' });
    await waitFor(() => errors.length > 0, { what: 'the failure to be reported' });
    failing = false;
    const back = Date.now();
    await waitFor(async () => (await store.read())?.nodes.length === 2, { timeoutMs: 2000, what: 'the join to be written after the grace' });
    expect(Date.now() - back).toBeGreaterThanOrEqual(300);
    await coordinator.close();
    await inner.close();
  });

  it('repairs an unreadable store as a new epoch from live membership', async () => {
    const membership = new MemoryMembership({ ttlMs: 1000, heartbeatMs: 200 });
    await membership.join({ id: 'a' });
    let garbage = true;
    const repaired: RingState[] = [];
    const inner = new MemoryRingStore();
    const store: RingStore = {
      read: async () => {
        if (garbage) throw new RingError('INVALID_SNAPSHOT', 'the stored value is garbage');
        return inner.read();
      },
      compareAndSet: (v, n, e) => inner.compareAndSet(v, n, e),
      repair: async (nodes) => {
        garbage = false;
        const state = await inner.compareAndSet(0, nodes);
        repaired.push(state!);
        return state;
      },
      watch: (l) => inner.watch(l),
      close: () => inner.close(),
    };
    const coordinator = await RingCoordinator.start({ membership: membership.connect(), store, settleMs: 5 });
    expect(repaired.map((s) => s.nodes.map((n) => n.id))).toEqual([['a']]);
    expect(await store.read()).toEqual(repaired[0]);
    await coordinator.close();
    await membership.close();
  });

  it('rejects bad options with RingError and stays quiet after close', async () => {
    const membership = new MemoryMembership();
    const store = new MemoryRingStore();
    await expect(RingCoordinator.start({ membership, store, settleMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(RingCoordinator.start({ store } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    for (const bad of [{ timeoutMs: 0 }, { graceMs: -1 }, { resyncMs: Number.NaN }, { timeoutMs: '5' }]) {
      await expect(RingCoordinator.start({ membership, store, ...(bad as object) })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    const coordinator = await RingCoordinator.start({ membership, store });
    await coordinator.close();
    await expect(coordinator.sync()).rejects.toMatchObject({ code: 'CLOSED' });
    await membership.close();
  });
});
