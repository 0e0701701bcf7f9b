import { EventEmitter } from 'eventemitter3';
import { sameMembers } from './compare.js';
import type { RingState, RingStore } from './contracts.js';
import { RingError, describe } from '../errors.js';
import { HashRing } from '../ring/hash-ring.js';
import type { Hasher, RingDiff, RingNode } from '../ring/types.js';

/** Options of {@link RingRouter.start}. */
export interface RingRouterOptions {
  /** Where the agreed ring lives. */
  readonly store: RingStore;
  /** Hash function; every router of a cluster must use the same one. @default createXxHash32() */
  readonly hasher?: Hasher;
  /** Points per unit of weight; every router of a cluster must use the same value. @default 160 */
  readonly vnodes?: number;
  /**
   * How often the router re-reads the stored version to catch pushes it
   * missed (pub/sub is lossy) and to recover after the store was unreachable.
   * @default 1000
   */
  readonly resyncMs?: number;
}

/** Events of a {@link RingRouter}. */
export interface RingRouterEvents {
  /** A newer ring version was applied; `diff` says which keys moved. */
  change: [diff: RingDiff, state: RingState];
  /** The store could not be read, or held data that failed validation. Lookups go on from the last good ring. */
  error: [error: Error];
  /**
   * A periodic re-read found a ring that the pushes had not delivered: a newer
   * version, or a store that started over after losing its data. Followed by `change`.
   */
  resync: [state: RingState];
}

/**
 * A gateway's always-current local ring. It follows the store's pushes,
 * re-reads the stored version every `resyncMs`, only ever moves to newer
 * versions, and keeps answering lookups from the last good ring when the
 * store is down or holds bad data.
 *
 * @example
 * ```ts
 * const router = await RingRouter.start({ store });
 * router.on('change', (diff) => closeSessions(diff.movedKeys(localUserIds)));
 * const owner = router.lookup('user:42');
 * ```
 */
export class RingRouter extends EventEmitter<RingRouterEvents> {
  readonly #store: RingStore;
  #ring: HashRing;
  #version = 0;
  #unwatch: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(store: RingStore, ring: HashRing) {
    super();
    this.#store = store;
    this.#ring = ring;
  }

  /**
   * Reads the stored ring and starts following it. Rejects when the first
   * read fails, since there is no last good ring to serve yet.
   */
  static async start(options: RingRouterOptions): Promise<RingRouter> {
    if (typeof options !== 'object' || options === null || options.store == null) {
      throw new RingError('INVALID_OPTION', 'RingRouter.start() needs { store }');
    }
    const resyncMs = options.resyncMs ?? 1000;
    if (!Number.isFinite(resyncMs) || resyncMs <= 0) {
      throw new RingError('INVALID_OPTION', `resyncMs must be a positive number, got ${describe(resyncMs)}`);
    }
    const ringOptions: { hasher?: Hasher; vnodes?: number } = {};
    if (options.hasher !== undefined) ringOptions.hasher = options.hasher;
    if (options.vnodes !== undefined) ringOptions.vnodes = options.vnodes;
    const router = new RingRouter(options.store, await HashRing.create([], ringOptions));
    // Watch before reading, so a change between the two is not missed.
    router.#unwatch = options.store.watch(
      (state) => void router.#apply(state, false),
      (error) => router.#fail(error),
    );
    try {
      const state = await options.store.read();
      if (state !== null) router.#apply(state, false, true);
    } catch (error) {
      await router.close();
      throw error;
    }
    router.#timer = setInterval(() => void router.resync(), resyncMs);
    router.#timer.unref?.();
    return router;
  }

  /** The ring at {@link RingRouter.version}. Replaced, not mutated, on change: treat it as read-only. */
  get ring(): HashRing {
    return this.#ring;
  }

  /** Version of the ring in use (0 before any ring was stored). */
  get version(): number {
    return this.#version;
  }

  /** The node that owns `key`. @throws RingError `EMPTY_RING` while the ring has no nodes. */
  lookup(key: string): RingNode {
    return this.#ring.lookup(key);
  }

  /** The owner of each key, in order (see `HashRing.lookupMany`); `groupByOwner(router, keys)` uses it. */
  lookupMany(keys: ArrayLike<string>): RingNode[] {
    return this.#ring.lookupMany(keys);
  }

  /** `min(n, size)` distinct nodes for `key`, owner first. */
  lookupN(key: string, n: number): RingNode[] {
    return this.#ring.lookupN(key, n);
  }

  /** Re-reads the store now and applies a newer version if there is one. Never rejects: failures go to `'error'`. */
  async resync(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#adopt(await this.#store.read());
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Stops following the store. Does not close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unwatch?.();
    this.removeAllListeners();
  }

  /**
   * A read is the store's truth, unlike a push, which may be stale. A newer
   * version is applied as usual. An older version (or the same one with other
   * nodes, or nothing at all) means the store lost its data and started over,
   * e.g. a Redis restart without persistence or a fail-over to an empty
   * replica: the router adopts the store's numbering, or it would ignore
   * every version the coordinators write from then on.
   */
  #adopt(state: RingState | null): void {
    if (this.#closed) return;
    if (state === null) {
      this.#version = 0; // keep serving the last good ring until a coordinator writes again
      return;
    }
    if (state.version > this.#version) {
      this.#apply(state, true);
      return;
    }
    if (state.version === this.#version && sameMembers(this.#ring.nodes(), state.nodes)) return;
    const version = this.#version;
    this.#version = -1;
    if (!this.#apply(state, true)) this.#version = version;
  }

  /** Applies a state newer than the current one; returns false when it was invalid. */
  #apply(state: RingState, fromResync: boolean, initial = false): boolean {
    if (this.#closed || state.version <= this.#version) return false;
    let next: HashRing;
    let diff: RingDiff;
    try {
      if (!Number.isSafeInteger(state.version)) throw new RingError('INVALID_SNAPSHOT', `ring version must be a safe integer, got ${describe(state.version)}`);
      next = this.#ring.clone();
      diff = next.setNodes(state.nodes);
    } catch (error) {
      this.#fail(new RingError('INVALID_SNAPSHOT', `ignored ring version ${describe(state.version)}: ${(error as Error).message}`, { cause: error }));
      return false;
    }
    this.#ring = next;
    this.#version = state.version;
    if (initial) return true;
    if (fromResync) this.emit('resync', state);
    this.emit('change', diff, state);
    return true;
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
