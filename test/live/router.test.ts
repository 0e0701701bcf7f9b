import { describe, expect, it } from 'vitest';
import { MemoryRingStore, RingError, RingRouter, type RingState, type RingStore } from '../../src/index.js';
import { waitFor } from '../support/wait.js';

/** A store under the test's control: it pushes whatever the test says and can be made to fail. */
class ScriptedStore implements RingStore {
  state: RingState | null = null;
  down = false;
  readonly listeners = new Set<(state: RingState) => void>();
  readonly errorListeners = new Set<(error: Error) => void>();
  async read(): Promise<RingState | null> {
    if (this.down) throw new Error('store unreachable');
    return this.state;
  }
  async compareAndSet(): Promise<RingState | null> {
    throw new Error('not used');
  }
  watch(listener: (state: RingState) => void, onError?: (error: Error) => void): () => void {
    this.listeners.add(listener);
    if (onError) this.errorListeners.add(onError);
    return () => {
      this.listeners.delete(listener);
      if (onError) this.errorListeners.delete(onError);
    };
  }
  push(state: RingState): void {
    for (const l of this.listeners) l(state);
  }
  async close(): Promise<void> {}
}

const nodes = (...ids: string[]) => ids.map((id) => ({ id }));

describe('RingRouter', () => {
  it('starts from the stored ring and follows pushed versions with a diff', async () => {
    const store = new ScriptedStore();
    store.state = { version: 1, nodes: nodes('a', 'b') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    expect(router.version).toBe(1);
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    const changes: Array<{ added: readonly string[]; version: number }> = [];
    router.on('change', (diff, state) => changes.push({ added: diff.added, version: state.version }));
    store.push({ version: 2, nodes: nodes('a', 'b', 'c') });
    expect(changes).toEqual([{ added: ['c'], version: 2 }]);
    expect(router.version).toBe(2);
    await router.close();
  });

  it('ignores older and equal versions', async () => {
    const store = new ScriptedStore();
    store.state = { version: 5, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    let changes = 0;
    router.on('change', () => changes++);
    store.push({ version: 4, nodes: nodes('x') });
    store.push({ version: 5, nodes: nodes('y') });
    expect(changes).toBe(0);
    expect(router.lookup('k').id).toBe('a');
    store.push({ version: 7, nodes: nodes('z') });
    store.push({ version: 6, nodes: nodes('w') });
    expect(router.version).toBe(7);
    expect(router.lookup('k').id).toBe('z');
    await router.close();
  });

  it('keeps the last good ring and emits error on invalid pushed data', async () => {
    const store = new ScriptedStore();
    store.state = { version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    const errors: Error[] = [];
    router.on('error', (e) => errors.push(e));
    store.push({ version: 2, nodes: [{ id: 'a' }, { id: 'a' }] });
    store.push({ version: 3, nodes: [{ id: '' }] });
    store.push({ version: 4, nodes: [{ id: 'b', weight: -1 }] });
    store.push({ version: Number.NaN, nodes: nodes('c') } as RingState);
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e).toBeInstanceOf(RingError);
    expect((errors[0] as RingError).code).toBe('INVALID_SNAPSHOT');
    expect(router.version).toBe(1);
    expect(router.lookup('k').id).toBe('a');
    await router.close();
  });

  it('answers from the last good ring while the store is down and catches up by resync', async () => {
    const store = new ScriptedStore();
    store.state = { version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 20 });
    const errors: Error[] = [];
    const resyncs: number[] = [];
    router.on('error', (e) => errors.push(e));
    router.on('resync', (s) => resyncs.push(s.version));
    store.down = true;
    await waitFor(() => errors.length >= 2, { what: 'resync failures to be reported' });
    expect(router.lookup('k').id).toBe('a');
    // A change made while the router was cut off (its push was lost).
    store.state = { version: 2, nodes: nodes('a', 'b') };
    store.down = false;
    await waitFor(() => router.version === 2, { what: 'the router to catch up' });
    expect(resyncs).toEqual([2]);
    await router.close();
  });

  it('adopts a store that lost its data and started over at a lower version', async () => {
    const store = new ScriptedStore();
    store.state = { version: 9, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    const seen: number[] = [];
    router.on('change', (_diff, state) => seen.push(state.version));
    // Redis restarted empty: nothing stored, the last good ring keeps serving.
    store.state = null;
    await router.resync();
    expect(router.lookup('k').id).toBe('a');
    expect(router.version).toBe(0);
    // A coordinator writes again from version 1; the push is accepted.
    store.push({ version: 1, nodes: nodes('a', 'b') });
    expect(router.version).toBe(1);
    // The store restarted again and already counted up to 1 with other nodes: a read adopts it.
    store.state = { version: 1, nodes: nodes('c') };
    await router.resync();
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['c']);
    // A lower version with different nodes, seen by a read, is adopted too; a stale push is not.
    store.push({ version: 0, nodes: nodes('x') });
    expect(router.version).toBe(1);
    expect(seen).toEqual([1, 1]);
    await router.close();
  });

  it('rejects start when the first read fails, and bad options with RingError', async () => {
    const store = new ScriptedStore();
    store.down = true;
    await expect(RingRouter.start({ store })).rejects.toThrow('store unreachable');
    expect(store.listeners.size).toBe(0);
    await expect(RingRouter.start({ store: new MemoryRingStore(), resyncMs: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(RingRouter.start({} as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('throws EMPTY_RING on lookup before any node joined', async () => {
    const router = await RingRouter.start({ store: new MemoryRingStore() });
    expect(router.version).toBe(0);
    expect(() => router.lookup('k')).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
    await router.close();
  });
});
