import type { RingState, RingStore } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNodes } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';

/** A new epoch id: the creation time and 64 random bits, unique across restarts. */
function newEpoch(): string {
  const random = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}-${random[0]!.toString(16).padStart(8, '0')}${random[1]!.toString(16).padStart(8, '0')}`;
}

interface Shared {
  state: RingState | null;
  readonly handles: Set<MemoryRingStore>;
}

/**
 * The reference {@link RingStore}: the agreed ring in this process's memory.
 * The first write creates an epoch id; {@link MemoryRingStore.reset} loses
 * the data as a restarted store would, and the next write starts a new epoch.
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

  async compareAndSet(expectedVersion: number, nodes: readonly RingNode[], expectedEpoch?: string): Promise<RingState | null> {
    this.#check();
    if (typeof expectedVersion !== 'number' || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new RingError('INVALID_OPTION', `expectedVersion must be an integer >= 0, got ${describe(expectedVersion)}`);
    }
    if (expectedEpoch !== undefined && (typeof expectedEpoch !== 'string' || expectedEpoch === '')) {
      throw new RingError('INVALID_OPTION', `expectedEpoch must be a non-empty string when given, got ${describe(expectedEpoch)}`);
    }
    const next = normalizeNodes(nodes);
    const stored = this.#shared.state;
    if ((stored?.version ?? 0) !== expectedVersion) return null;
    if (stored !== null && expectedEpoch !== undefined && stored.epoch !== expectedEpoch) return null;
    // The first write into an empty store starts a new epoch.
    this.#write({ epoch: stored?.epoch ?? newEpoch(), version: expectedVersion + 1, nodes: next });
    return this.#shared.state;
  }

  /** Nothing unreadable can be stored in memory: resolves to `null` after validating `nodes`. */
  async repair(nodes: readonly RingNode[]): Promise<RingState | null> {
    this.#check();
    normalizeNodes(nodes);
    return null;
  }

  /**
   * Forgets the stored ring, as a store that lost its data would (a Redis
   * restart without persistence): `read()` resolves to `null` and the next
   * write starts a new epoch. For tests and demos of that failure.
   */
  reset(): void {
    this.#check();
    this.#shared.state = null;
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

  #write(state: { epoch: string; version: number; nodes: RingNode[] }): void {
    const frozen: RingState = Object.freeze({ epoch: state.epoch, version: state.version, nodes: Object.freeze(state.nodes) });
    this.#shared.state = frozen;
    for (const handle of this.#shared.handles) handle.#push(frozen);
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
