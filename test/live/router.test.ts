import { describe, expect, it } from 'vitest';
import { MemoryRingStore, RingError, RingRouter, type RingState, type RingStore } from '../../src/index.js';
import { sleep, waitFor } from '../support/wait.js';

/** A store under the test's control: it holds what the test says, pushes anything, and can fail or hang. */
class ScriptedStore implements RingStore {
  state: RingState | null = null;
  down = false;
  /** While set, reads wait for it (a hung backend). */
  hang: Promise<void> | null = null;
  reads = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly listeners = new Set<(state: RingState) => void>();
  readonly errorListeners = new Set<(error: Error) => void>();
  async read(): Promise<RingState | null> {
    this.reads++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hang) await this.hang;
      if (this.down) throw new Error('store unreachable');
      return this.state;
    } finally {
      this.inFlight--;
    }
  }
  async compareAndSet(): Promise<RingState | null> {
    throw new Error('not used');
  }
  async repair(): Promise<RingState | null> {
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
const E = 'epoch-1';

describe('RingRouter', () => {
  it('starts from the stored ring and follows the store when a push announces a new version', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 1, nodes: nodes('a', 'b') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    expect(router.version).toBe(1);
    expect(router.epoch).toBe(E);
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    const changes: Array<{ added: readonly string[]; version: number }> = [];
    router.on('change', (diff, state) => changes.push({ added: diff.added, version: state.version }));
    store.state = { epoch: E, version: 2, nodes: nodes('a', 'b', 'c') };
    store.push(store.state);
    await waitFor(() => changes.length === 1);
    expect(changes).toEqual([{ added: ['c'], version: 2 }]);
    expect(router.version).toBe(2);
    await router.close();
  });

  it('never applies a pushed state that the store does not hold (a forged or stale push)', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 5, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    let changes = 0;
    router.on('change', () => changes++);
    const readsBefore = store.reads;
    store.push({ epoch: E, version: Number.MAX_SAFE_INTEGER, nodes: nodes('evil') });
    store.push({ epoch: 'forged', version: 1, nodes: nodes('evil') });
    store.push({ epoch: E, version: 4, nodes: nodes('x') }); // older: not even read
    await waitFor(() => store.reads > readsBefore);
    await sleep(20);
    expect(changes).toBe(0);
    expect(router.version).toBe(5);
    expect(router.lookup('k').id).toBe('a');
    await router.close();
  });

  it('keeps the last good ring and emits error when the store holds invalid data', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    const errors: Error[] = [];
    router.on('error', (e) => errors.push(e));
    const bad: RingState[] = [
      { epoch: E, version: 2, nodes: [{ id: 'a' }, { id: 'a' }] },
      { epoch: E, version: 3, nodes: [{ id: '' }] },
      { epoch: E, version: 4, nodes: [{ id: 'b', weight: -1 }] },
      { epoch: E, version: Number.NaN, nodes: nodes('c') },
      { epoch: '', version: 9, nodes: nodes('c') },
    ];
    for (const state of bad) {
      store.state = state;
      await router.resync();
    }
    expect(errors).toHaveLength(bad.length);
    for (const e of errors) expect(e).toBeInstanceOf(RingError);
    expect((errors[0] as RingError).code).toBe('INVALID_SNAPSHOT');
    expect(router.version).toBe(1);
    expect(router.lookup('k').id).toBe('a');
    await router.close();
  });

  it('answers from the last good ring while the store is down and catches up by resync', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 20 });
    const errors: Error[] = [];
    const resyncs: number[] = [];
    router.on('error', (e) => errors.push(e));
    router.on('resync', (s) => resyncs.push(s.version));
    store.down = true;
    await waitFor(() => errors.length >= 2, { what: 'resync failures to be reported' });
    expect(router.lookup('k').id).toBe('a');
    // A change made while the router was cut off (its push was lost).
    store.state = { epoch: E, version: 2, nodes: nodes('a', 'b') };
    store.down = false;
    await waitFor(() => router.version === 2, { what: 'the router to catch up' });
    expect(resyncs).toEqual([2]);
    await router.close();
  });

  it('orders states by (epoch, version): a new epoch is adopted from a read, an older version of an epoch not from one read', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 9, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    const seen: string[] = [];
    router.on('change', (_diff, state) => seen.push(`${state.epoch}/${state.version}`));
    // Redis restarted empty: nothing stored, the last good ring keeps serving.
    store.state = null;
    await router.resync();
    expect(router.lookup('k').id).toBe('a');
    expect(router.version).toBe(9);
    // A coordinator writes again: a new epoch, version 1, read after the push announced it.
    store.state = { epoch: 'epoch-2', version: 1, nodes: nodes('a') };
    store.push(store.state);
    await waitFor(() => router.epoch === 'epoch-2');
    expect(router.version).toBe(1);
    // An older version of the epoch in use is not applied from one read (it may be a stale one)...
    store.state = { epoch: 'epoch-2', version: 3, nodes: nodes('a', 'b') };
    await router.resync();
    store.state = { epoch: 'epoch-2', version: 2, nodes: nodes('c') };
    await router.resync();
    expect(router.version).toBe(3);
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(seen).toEqual(['epoch-2/1', 'epoch-2/3']);
    // ...and a newer read in between starts the count again.
    store.state = { epoch: 'epoch-2', version: 3, nodes: nodes('a', 'b') };
    await router.resync();
    store.state = { epoch: 'epoch-2', version: 2, nodes: nodes('c') };
    await router.resync();
    expect(router.version).toBe(3);
    await router.close();
  });

  it('follows a store that went back more than one version (a fail-over that lost two writes), after two reads, as CONFLICT', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 3, nodes: nodes('a', 'b', 'c') };
    const router = await RingRouter.start({ store, resyncMs: 60_000 });
    const errors: RingError[] = [];
    router.on('error', (e) => errors.push(e as RingError));
    // Versions 2 and 3 were lost: the promoted replica holds version 1.
    store.state = { epoch: E, version: 1, nodes: nodes('a', 'b') };
    await router.resync();
    expect(router.version).toBe(3);
    await router.resync();
    expect(router.version).toBe(1);
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(router.conflicts).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['CONFLICT']);
    expect(errors[0]!.message).toMatch(/went back to ring .* version 1/);
    // The coordinator's next write, version 2, is newer to this router again: before, it looked old for ever.
    store.state = { epoch: E, version: 2, nodes: nodes('a', 'b', 'd') };
    store.push(store.state);
    await waitFor(() => router.version === 2, { what: 'version 2 adopted' });
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b', 'd']);
    // Gone back with the same nodes: only the version follows, reported too.
    store.state = { epoch: E, version: 1, nodes: nodes('a', 'b', 'd') };
    await router.resync();
    await router.resync();
    expect(router.version).toBe(1);
    expect(router.conflicts).toBe(2);
    await router.close();
  });

  it('repairs a lost write: other nodes under the version in use are adopted from the store and reported as CONFLICT', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 2, nodes: [{ id: 'a', meta: { url: 'ws://a', zone: '1' } }, { id: 'b', weight: 2 }, { id: 'c' }] };
    const router = await RingRouter.start({ store, resyncMs: 50 });
    const errors: RingError[] = [];
    const changes: string[][] = [];
    router.on('error', (e) => errors.push(e as RingError));
    router.on('change', (diff) => changes.push([...diff.added, ...diff.removed]));
    // The same nodes read again, meta keys in another order and the default weight spelled out: nothing to do.
    store.state = { epoch: E, version: 2, nodes: [{ id: 'c', weight: 1 }, { id: 'b', weight: 2 }, { id: 'a', meta: { zone: '1', url: 'ws://a' } }] };
    await sleep(200);
    expect(errors).toEqual([]);
    expect(router.conflicts).toBe(0);
    // A fail-over lost version 2 = {a, b, c}; the coordinator wrote {a, b, d} as version 2 again. A push of it is
    // not new by its version; the next resync reads it and the router adopts the store's nodes.
    store.state = { epoch: E, version: 2, nodes: [{ id: 'a', meta: { url: 'ws://a', zone: '1' } }, { id: 'b', weight: 2 }, { id: 'd' }] };
    store.push(store.state);
    await waitFor(() => router.conflicts === 1, { timeoutMs: 1000, what: 'the conflict repaired by a resync' });
    expect(router.ring.nodes().map((n) => n.id)).toEqual(['a', 'b', 'd']);
    expect(router.version).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RingError);
    expect(errors[0]!.code).toBe('CONFLICT');
    expect(errors[0]!.message).toMatch(/other nodes under ring epoch-1 version 2/);
    expect(changes).toEqual([['d', 'c']]);
    // Only a weight or a meta value differing is a conflict too; once repaired, nothing more happens.
    store.state = { epoch: E, version: 2, nodes: [{ id: 'a', meta: { url: 'ws://a2', zone: '1' } }, { id: 'b', weight: 2 }, { id: 'd' }] };
    await waitFor(() => router.conflicts === 2, { timeoutMs: 1000 });
    await sleep(200);
    expect(router.conflicts).toBe(2);
    expect(router.ring.nodes()[0]!.meta).toEqual({ url: 'ws://a2', zone: '1' });
    await router.close();
  });

  it('runs at most one read at a time however many pushes and resyncs come in', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 1 });
    for (let v = 2; v < 300; v++) {
      store.state = { epoch: E, version: v, nodes: nodes('a', `n${v % 7}`) };
      store.push(store.state);
      if (v % 10 === 0) await sleep(1);
    }
    await waitFor(() => router.version === 299);
    expect(store.maxInFlight).toBe(1);
    await router.close();
  });

  it('abandons a read slower than readTimeoutMs with an error, starts no other meanwhile, and recovers when it settles', async () => {
    const store = new ScriptedStore();
    store.state = { epoch: E, version: 1, nodes: nodes('a') };
    const router = await RingRouter.start({ store, resyncMs: 5, readTimeoutMs: 50 });
    const errors: Error[] = [];
    router.on('error', (e) => errors.push(e));
    let release!: () => void;
    store.hang = new Promise((resolve) => {
      release = resolve;
    });
    await waitFor(() => errors.some((e) => e.name === 'TimeoutError'), { what: 'the timeout to be reported' });
    const readsWhileHung = store.reads;
    await sleep(200);
    expect(store.reads).toBe(readsWhileHung); // no pile of reads on a hung store
    expect(store.maxInFlight).toBe(1);
    expect(errors.filter((e) => e.name === 'TimeoutError').length).toBeGreaterThanOrEqual(2); // still says so while hung
    expect(router.lookup('k').id).toBe('a');
    store.state = { epoch: E, version: 2, nodes: nodes('b') };
    store.hang = null;
    release();
    await waitFor(() => router.version === 2, { what: 'the router to recover' });
    await router.close();
  });

  it('rejects start when the first read fails or hangs, and bad options with RingError', async () => {
    const store = new ScriptedStore();
    store.down = true;
    await expect(RingRouter.start({ store })).rejects.toThrow('store unreachable');
    expect(store.listeners.size).toBe(0);
    store.down = false;
    store.hang = new Promise(() => undefined);
    await expect(RingRouter.start({ store, readTimeoutMs: 30 })).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(RingRouter.start({ store: new MemoryRingStore(), resyncMs: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(RingRouter.start({ store: new MemoryRingStore(), readTimeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(RingRouter.start({} as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('throws EMPTY_RING on lookup before any node joined', async () => {
    const router = await RingRouter.start({ store: new MemoryRingStore() });
    expect(router.version).toBe(0);
    expect(() => router.lookup('k')).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
    await router.close();
  });
});
