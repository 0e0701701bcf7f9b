import type { RingState, RingStore } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNodes } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';

interface Shared {
  state: RingState | null;
  readonly handles: Set<MemoryRingStore>;
}

/**
 * The reference {@link RingStore}: the agreed ring in this process's memory.
 *
 * It is the embedded default (one process, no dependencies) and the
 * executable spec of the contract. {@link MemoryRingStore.connect} gives
 * further handles on the same ring, as separate gateways would have; pushes
 * reach watchers asynchronously, as they would over a network.
 */
export class MemoryRingStore implements RingStore {
  #shared: Shared;
  readonly #watchers = new Set<{ listener: (state: RingState) => void }>();
  #closed = false;

  constructor() {
    this.#shared = { state: null, handles: new Set() };
    this.#shared.handles.add(this);
  }

  /** Another handle on the same stored ring, with its own watches; closing it leaves the others working. */
  connect(): MemoryRingStore {
    this.#check();
    const handle = new MemoryRingStore();
    handle.#shared = this.#shared;
    this.#shared.handles.add(handle);
    return handle;
  }

  async read(): Promise<RingState | null> {
    this.#check();
    return this.#shared.state;
  }

  async compareAndSet(expectedVersion: number, nodes: readonly RingNode[]): Promise<RingState | null> {
    this.#check();
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new RingError('INVALID_OPTION', `expectedVersion must be an integer >= 0, got ${describe(expectedVersion)}`);
    }
    const next = normalizeNodes(nodes);
    const current = this.#shared.state?.version ?? 0;
    if (current !== expectedVersion) return null;
    const state: RingState = Object.freeze({ version: current + 1, nodes: Object.freeze(next) });
    this.#shared.state = state;
    for (const handle of this.#shared.handles) handle.#push(state);
    return state;
  }

  watch(listener: (state: RingState) => void): () => void {
    this.#check();
    const entry = { listener };
    this.#watchers.add(entry);
    return () => void this.#watchers.delete(entry);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
    this.#shared.handles.delete(this);
  }

  #push(state: RingState): void {
    for (const entry of this.#watchers) {
      queueMicrotask(() => {
        if (this.#watchers.has(entry)) entry.listener(state);
      });
    }
  }

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this MemoryRingStore is closed');
  }
}
