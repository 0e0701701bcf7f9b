import { EventEmitter } from 'eventemitter3';
import type { RingState, RingStore } from './contracts.js';
import { type Logger, badLogger, log } from './logger.js';
import { SingleFlight, timeoutError } from './single-flight.js';
import { RingError, describe } from '../errors.js';
import { HashRing } from '../ring/hash-ring.js';
import { createXxHash32 } from '../ring/hasher.js';
import type { Placement } from '../ring/placement.js';
import type { Hasher, HashRingOptions, RingDiff, RingNode } from '../ring/types.js';

/** Options of {@link RingRouter.start}. */
export interface RingRouterOptions {
  /** Where the agreed ring lives. */
  readonly store: RingStore;
  /** Hash function; every router of a cluster must use the same one. @default createXxHash32() */
  readonly hasher?: Hasher;
  /**
   * How the ring places points and finds owners, instead of `hasher`: for
   * example `nginxPlacement()` from `ringroute/nginx`, so the ring predicts
   * the proxy's consistent hashing. Every router of a cluster must use the same one.
   * @default the default placement over `hasher`
   */
  readonly placement?: Placement;
  /** Points per unit of weight; every router of a cluster must use the same value. @default 160 */
  readonly vnodes?: number;
  /**
   * How often the router re-reads the store to catch pushes it missed
   * (pub/sub is lossy) and to recover after the store was unreachable.
   * @default 1000
   */
  readonly resyncMs?: number;
  /**
   * Longest wait for one read of the store, in ms. A slower read is reported
   * as `'error'` and abandoned (lookups go on from the last good ring); the
   * router starts no other read until it settles, and reads again at once
   * when it does. Also bounds the first read in {@link RingRouter.start}.
   * @default 2000
   */
  readonly readTimeoutMs?: number;
  /** Traces the router's decisions: `adopt` (info), `skip` of a bad record (warn), `error` (warn). @default none */
  readonly logger?: Logger;
}

/** Events of a {@link RingRouter}. */
export interface RingRouterEvents {
  /** A newer ring was applied; `diff` says which keys moved (empty when a new epoch holds the same nodes). */
  change: [diff: RingDiff, state: RingState];
  /** The store could not be read in time, or held data that failed validation. Lookups go on from the last good ring. */
  error: [error: Error];
  /**
   * A read that no push had announced found a new ring: a push was lost, or
   * the store started a new epoch (it lost its data, or a coordinator
   * repaired garbage). Followed by `change`.
   */
  resync: [state: RingState];
}

/**
 * A gateway's always-current local ring.
 *
 * It applies only what it **reads** from the store: a push (which anyone who
 * can publish could forge, and which can be stale) merely triggers a read.
 * Reads run one at a time, so a read that returns later never carries an
 * older state than one already applied; within an epoch the router moves to
 * higher versions, and to a lower one only when two reads in a row show the
 * store went back (writes lost in a fail-over, reported as `CONFLICT`), and it
 * moves to another epoch only when a read shows that the store holds it. It re-reads every `resyncMs`, and keeps answering
 * lookups from the last good ring while the store is down, hung or holds bad
 * data.
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
  readonly #readTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #flight = new SingleFlight();
  #ring: HashRing;
  #epoch = '';
  #version = 0;
  #conflicts = 0;
  #unwatch: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** A read is wanted after the one in flight (a push or resync came in meanwhile). */
  #again = false;
  /** Whether the wanted read was asked for by a push (else by the timer or `resync()`). */
  #againByPush = false;
  #loop: Promise<void> | undefined;
  #overdueReportedAt = 0;
  /** Reads in a row that showed an older version of the epoch in use. */
  #behindReads = 0;

  private constructor(store: RingStore, ring: HashRing, readTimeoutMs: number, logger: Logger | undefined) {
    super();
    this.#logger = logger;
    this.#store = store;
    this.#ring = ring;
    this.#readTimeoutMs = readTimeoutMs;
  }

  /**
   * Reads the stored ring and starts following it. Rejects when the first
   * read fails or takes longer than `readTimeoutMs`, since there is no last
   * good ring to serve yet. The first ring is built directly, without a diff.
   */
  static async start(options: RingRouterOptions): Promise<RingRouter> {
    if (typeof options !== 'object' || options === null || options.store == null) {
      throw new RingError('INVALID_OPTION', 'RingRouter.start() needs { store }');
    }
    const resyncMs = options.resyncMs ?? 1000;
    if (typeof resyncMs !== 'number' || !Number.isFinite(resyncMs) || resyncMs <= 0) {
      throw new RingError('INVALID_OPTION', `resyncMs must be a positive number, got ${describe(resyncMs)}`);
    }
    const readTimeoutMs = options.readTimeoutMs ?? 2000;
    if (typeof readTimeoutMs !== 'number' || !Number.isFinite(readTimeoutMs) || readTimeoutMs <= 0) {
      throw new RingError('INVALID_OPTION', `readTimeoutMs must be a positive number, got ${describe(readTimeoutMs)}`);
    }
    const loggerProblem = badLogger(options.logger);
    if (loggerProblem !== undefined) throw new RingError('INVALID_OPTION', loggerProblem);
    const ringOptions: HashRingOptions =
      options.placement !== undefined
        ? { ...(options.hasher === undefined ? {} : { hasher: options.hasher }), placement: options.placement, ...(options.vnodes === undefined ? {} : { vnodes: options.vnodes }) }
        : { hasher: options.hasher ?? (await createXxHash32()), ...(options.vnodes === undefined ? {} : { vnodes: options.vnodes }) };
    const router = new RingRouter(options.store, new HashRing(ringOptions), readTimeoutMs, options.logger);
    // Watch before reading, so a change between the two is not missed.
    router.#unwatch = options.store.watch(
      (state) => router.#pushed(state),
      (error) => router.#fail(error),
    );
    try {
      const state = await router.#flight.run(() => options.store.read(), readTimeoutMs, 'the first ring store read');
      if (state !== null) router.#initial(state, ringOptions);
    } catch (error) {
      await router.close();
      throw error;
    }
    router.#timer = setInterval(() => void router.#request(false), resyncMs);
    router.#timer.unref?.();
    // A push may have arrived during the first read.
    if (router.#again) void router.#request(router.#againByPush);
    return router;
  }

  /** The ring in use. Replaced, not mutated, on change: treat it as read-only. */
  get ring(): HashRing {
    return this.#ring;
  }

  /** Version of the ring in use within its epoch (0 before any ring was read). */
  get version(): number {
    return this.#version;
  }

  /**
   * Times the store held other nodes than this router served under the same
   * (epoch, version) (a write it had read was lost, e.g. by a Redis
   * fail-over); each was repaired by adopting the store's ring and reported
   * as `RingError` `CONFLICT`. Two routers serve different rings under one
   * version for at most `resyncMs` plus a read after the store settles.
   */
  get conflicts(): number {
    return this.#conflicts;
  }

  /** Epoch of the ring in use ('' before any ring was read). */
  get epoch(): string {
    return this.#epoch;
  }

  /** The node that owns `key`. @throws RingError `EMPTY_RING` while the ring has no nodes. */
  lookup(key: string): RingNode {
    return this.#ring.lookup(key);
  }

  /** The owner of each key, in order, written into `out` when given (see `HashRing.lookupMany`); `groupByOwner(router, keys)` uses it. */
  lookupMany(keys: ArrayLike<string>, out?: RingNode[]): RingNode[] {
    return this.#ring.lookupMany(keys, out);
  }

  /** `min(n, size)` distinct nodes for `key`, owner first. */
  lookupN(key: string, n: number): RingNode[] {
    return this.#ring.lookupN(key, n);
  }

  /**
   * Re-reads the store and applies what it holds if that is newer. Resolves
   * once a read that started after this call has finished (or was
   * abandoned). Never rejects: failures go to `'error'`.
   */
  async resync(): Promise<void> {
    await this.#request(false);
  }

  /** Stops following the store. Does not close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unwatch?.();
    this.removeAllListeners();
  }

  /** A push is a hint: read when it announces something this router does not hold. */
  #pushed(state: RingState): void {
    if (this.#closed) return;
    if (state !== null && typeof state === 'object' && state.epoch === this.#epoch && typeof state.version === 'number' && state.version <= this.#version) {
      return; // nothing new (a duplicate, or a stale push)
    }
    void this.#request(true);
  }

  /** Asks for a read; coalesces with the read in flight, so at most one read runs at a time. */
  #request(byPush: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#again = true;
    if (byPush) this.#againByPush = true;
    // The loop may be past its last check: then its end starts the read asked for here, and this waits for that one too.
    if (this.#loop !== undefined) return this.#loop.then(() => this.#loop);
    // An abandoned read is still pending: its settling asks for a read again.
    if (this.#flight.busy) {
      this.#reportOverdue();
      return Promise.resolve();
    }
    this.#loop = this.#readLoop().finally(() => {
      this.#loop = undefined;
      // A request that came in after the loop's last check (a push delivered
      // as a microtask) would otherwise wait for the next resync.
      if (this.#again) void this.#request(this.#againByPush);
    });
    return this.#loop;
  }

  async #readLoop(): Promise<void> {
    while (this.#again && !this.#closed) {
      const byPush = this.#againByPush;
      this.#again = false;
      this.#againByPush = false;
      let state: RingState | null;
      try {
        this.#overdueReportedAt = Date.now() + this.#readTimeoutMs; // the timeout below reports first
        state = await this.#flight.run(() => this.#store.read(), this.#readTimeoutMs, 'a ring store read', () => {
          // The abandoned read settled: read again at once, the store may be back.
          void this.#request(false);
        });
      } catch (error) {
        // Requests made during a failed read wait for the next resync: no tight retry loop on a failing store.
        this.#again = false;
        this.#againByPush = false;
        this.#fail(error);
        return;
      }
      if (state !== null) this.#adopt(state, byPush);
    }
  }

  /** Applies a state read from the store when it is newer than the one in use. */
  #adopt(state: RingState, byPush: boolean): void {
    if (this.#closed) return;
    const newEpoch = state.epoch !== this.#epoch;
    // An older version of the epoch in use: the store went back, having lost the writes this router read (a
    // fail-over that lost more than one), or this read was stale (a replica behind). Only a second read in a row
    // that is still behind is believed: the store is then the truth, and the router follows it, or the next
    // versions the coordinator writes would look old to it for ever.
    const behind = !newEpoch && state.version < this.#version;
    if (!behind) this.#behindReads = 0;
    else if (++this.#behindReads < 2) return;
    // The version in use, read again: the same nodes, unless the write this router had read was lost (a fail-over
    // to a replica that never got it) and another write took its version. The store is the truth: adopt it.
    const conflict = !newEpoch && state.version <= this.#version;
    if (conflict && sameNodes(this.#ring.nodes(), state.nodes)) {
      if (behind) {
        this.#behindReads = 0;
        this.#conflicts++;
        this.#fail(new RingError('CONFLICT', `the store went back from ring ${state.epoch} version ${this.#version} to version ${state.version} (lost writes, e.g. a fail-over), with the nodes this router serves: follows its version`));
        this.#version = state.version;
      }
      return;
    }
    this.#behindReads = 0;
    let next: HashRing;
    let diff: RingDiff;
    try {
      checkState(state);
      next = this.#ring.clone();
      diff = next.setNodes(state.nodes);
    } catch (error) {
      this.#fail(new RingError('INVALID_SNAPSHOT', `ignored ring ${describe(state.epoch)} version ${describe(state.version)}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    log(this.#logger, {
      level: 'info', source: 'router', event: 'adopt',
      message: `adopted ring ${state.epoch} version ${state.version} (${state.nodes.length} nodes${newEpoch ? ', new epoch' : ''}, ${(diff.movedFraction * 100).toFixed(1)}% of keys moved, read after ${byPush ? 'a push' : 'a resync'})`,
      fields: { epoch: state.epoch, version: state.version, nodes: state.nodes.length, newEpoch, movedFraction: diff.movedFraction, byPush },
    });
    this.#ring = next;
    this.#epoch = state.epoch;
    this.#version = state.version;
    if (conflict) {
      this.#conflicts++;
      const what = behind ? `the store went back to ring ${state.epoch} version ${state.version}, under the version this router served, with other nodes` : `the store holds other nodes under ring ${state.epoch} version ${state.version} than this router served`;
      this.#fail(new RingError('CONFLICT', `${what} (a lost write, e.g. a fail-over): adopted the store's (${diff.added.length} added, ${diff.removed.length} removed, ${(diff.movedFraction * 100).toFixed(1)}% of keys moved)`));
    }
    if (newEpoch || conflict || !byPush) this.emit('resync', state);
    this.emit('change', diff, state);
  }

  /** The first ring: built directly from the nodes, with no diff to compute. */
  #initial(state: RingState, options: HashRingOptions): void {
    try {
      checkState(state);
      this.#ring = new HashRing(options, state.nodes);
    } catch (error) {
      throw new RingError('INVALID_SNAPSHOT', `the stored ring cannot be used: ${(error as Error).message}`, { cause: error });
    }
    this.#epoch = state.epoch;
    this.#version = state.version;
  }

  /** While an abandoned read hangs, says so once per `readTimeoutMs`, so a hung store never goes quiet. */
  #reportOverdue(): void {
    const now = Date.now();
    if (now - this.#overdueReportedAt < this.#readTimeoutMs) return;
    this.#overdueReportedAt = now;
    this.#fail(timeoutError(`a ring store read is still pending after ${this.#flight.pendingMs} ms; serving ring version ${this.#version} meanwhile`));
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    // A record that failed validation is skipped: lookups go on from the ring in use.
    const skipped = error instanceof RingError && error.code === 'INVALID_SNAPSHOT';
    log(this.#logger, { level: 'warn', source: 'router', event: skipped ? 'skip' : 'error', message: `${String((error as Error)?.message ?? error)}; serving version ${this.#version}`, fields: { epoch: this.#epoch, serving: this.#version } });
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/** Whether `stored` (a state's nodes, not checked yet) holds exactly `served` (sorted by id): ids, weights and meta. */
function sameNodes(served: readonly RingNode[], stored: unknown): boolean {
  if (!Array.isArray(stored) || stored.length !== served.length) return false;
  const byId = new Map<string, unknown>();
  for (const node of stored as unknown[]) {
    if (node === null || typeof node !== 'object') return false;
    byId.set((node as RingNode).id, node);
  }
  for (const node of served) {
    const other = byId.get(node.id) as RingNode | undefined;
    if (other === undefined || (other.weight ?? 1) !== (node.weight ?? 1) || !sameMeta(node.meta, other.meta)) return false;
  }
  return true;
}

function sameMeta(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = a === undefined ? [] : Object.keys(a);
  const kb = b === undefined || b === null || typeof b !== 'object' ? [] : Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a![k] !== b![k]) return false;
  return true;
}

function checkState(state: RingState): void {
  if (typeof state.epoch !== 'string' || state.epoch === '') {
    throw new RingError('INVALID_SNAPSHOT', `ring epoch must be a non-empty string, got ${describe(state.epoch)}`);
  }
  if (typeof state.version !== 'number' || !Number.isSafeInteger(state.version) || state.version < 1) {
    throw new RingError('INVALID_SNAPSHOT', `ring version must be a positive safe integer, got ${describe(state.version)}`);
  }
}
