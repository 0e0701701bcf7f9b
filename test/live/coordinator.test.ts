import { describe, expect, it } from 'vitest';
import { MemoryMembership, MemoryRingStore, RingCoordinator, type RingState } from '../../src/index.js';
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

  it('rejects bad options with RingError and stays quiet after close', async () => {
    const membership = new MemoryMembership();
    const store = new MemoryRingStore();
    await expect(RingCoordinator.start({ membership, store, settleMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(RingCoordinator.start({ store } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const coordinator = await RingCoordinator.start({ membership, store });
    await coordinator.close();
    await expect(coordinator.sync()).rejects.toMatchObject({ code: 'CLOSED' });
    await membership.close();
  });
});
