import { EventEmitter } from 'eventemitter3';
import { sameMembers } from './compare.js';
import type { MembershipAdapter, RingState, RingStore } from './contracts.js';
import { type Logger, badLogger, log } from './logger.js';
import { SingleFlight } from './single-flight.js';
import { RingError, describe } from '../errors.js';

/** Options of {@link RingCoordinator.start}. */
export interface RingCoordinatorOptions {
  /** Who is alive. */
  readonly membership: MembershipAdapter;
  /** Where the agreed ring is written. */
  readonly store: RingStore;
  /**
   * Quiet time after a membership event before the ring is rewritten, so a
   * burst of changes (or a member that leaves and comes straight back) costs
   * one rebalance. A change is never held longer than 10 x `settleMs`.
   * @default 50
   */
  readonly settleMs?: number;
  /**
   * How often the coordinator re-checks membership against the store even
   * without events, since pushes can be lost.
   * @default 5000
   */
  readonly resyncMs?: number;
  /**
   * Longest wait for one call to the store or the membership, in ms. A slower
   * call is reported as `'error'` and abandoned; the coordinator starts no
   * other call until it settles, and tries again when it does.
   * @default 2000
   */
  readonly timeoutMs?: number;
  /**
   * Grace period, in ms, during which the coordinator writes nothing: after
   * the store or the membership was unreachable (counted from the first call
   * that succeeds again), and after the store turned out empty although this
   * coordinator had seen a ring (the store lost its data). Live members
   * re-register within one heartbeat, so after the grace membership is whole
   * again and the new ring moves no key of a live member.
   * @default the membership's `ttlMs`, or 3000 when it has none
   */
  readonly graceMs?: number;
  /** Traces the coordinator's decisions: `write` (info), `hold` during a grace period (info), `error` (warn, including the repair of garbage). @default none */
  readonly logger?: Logger;
}

/** Events of a {@link RingCoordinator}. */
export interface RingCoordinatorEvents {
  /** The coordinator wrote a new ring version (or a new epoch). */
  write: [state: RingState];
  /** A call failed or timed out, membership held a bad record, or the store held garbage (which the coordinator repairs). It retries by itself. */
  error: [error: Error];
}

/**
 * Applies membership to the ring store: whenever members join, leave, expire
 * or change, it writes the live member list as the next ring version with
 * compare-and-set. Safe to run on every gateway at once: coordinators that
 * race simply retry, and all write the same list.
 *
 * It never writes a partial membership after an outage: after the backend was
 * unreachable, or after the store lost its data, it waits `graceMs` for
 * members to re-register. A stored value it cannot read is replaced by a new
 * epoch written from live membership.
 */
export class RingCoordinator extends EventEmitter<RingCoordinatorEvents> {
  readonly #membership: MembershipAdapter;
  readonly #store: RingStore;
  readonly #settleMs: number;
  readonly #resyncMs: number;
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  readonly #logger: Logger | undefined;
  readonly #flight = new SingleFlight();
  readonly #unwatch: () => void;
  readonly #resync: ReturnType<typeof setInterval>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = 0;
  #firstPending = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** This coordinator has read a valid ring at least once. */
  #seenRing = false;
  /** The last call failed: the first success after it starts a grace period. */
  #failing = false;
  /** The store was found empty after a ring had been seen; cleared when a ring is read again. */
  #emptySince: number | undefined;
  /** No writes before this time (ms since the epoch). */
  #holdUntil = 0;

  private constructor(options: RingCoordinatorOptions, timing: { settleMs: number; resyncMs: number; timeoutMs: number; graceMs: number }) {
    super();
    this.#membership = options.membership;
    this.#store = options.store;
    this.#settleMs = timing.settleMs;
    this.#resyncMs = timing.resyncMs;
    this.#timeoutMs = timing.timeoutMs;
    this.#graceMs = timing.graceMs;
    this.#logger = options.logger;
    this.#unwatch = this.#membership.watch(
      () => this.#schedule(),
      (error) => {
        this.#report(error);
        this.#schedule();
      },
    );
    this.#resync = setInterval(() => this.#schedule(), timing.resyncMs);
    this.#resync.unref?.();
  }

  /**
   * Starts a coordinator and brings the store in line with the current
   * membership before resolving. Rejects if that first reconciliation fails.
   */
  static async start(options: RingCoordinatorOptions): Promise<RingCoordinator> {
    if (typeof options !== 'object' || options === null || options.membership == null || options.store == null) {
      throw new RingError('INVALID_OPTION', 'RingCoordinator.start() needs { membership, store }');
    }
    const settleMs = options.settleMs ?? 50;
    const resyncMs = options.resyncMs ?? 5000;
    const timeoutMs = options.timeoutMs ?? 2000;
    const ttl = options.membership.ttlMs;
    const graceMs = options.graceMs ?? (typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 ? ttl : 3000);
    for (const [name, value, min] of [['settleMs', settleMs, 0], ['graceMs', graceMs, 0], ['resyncMs', resyncMs, 1], ['timeoutMs', timeoutMs, 1]] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
        throw new RingError('INVALID_OPTION', `${name} must be a number ${min === 0 ? '>= 0' : '> 0'}, got ${describe(value)}`);
      }
    }
    const loggerProblem = badLogger(options.logger);
    if (loggerProblem !== undefined) throw new RingError('INVALID_OPTION', loggerProblem);
    const coordinator = new RingCoordinator(options, { settleMs, resyncMs, timeoutMs, graceMs });
    try {
      await coordinator.#run();
    } catch (error) {
      await coordinator.close();
      throw error;
    }
    return coordinator;
  }

  /** Brings the store in line with membership now, without waiting for the settle time (but within a grace period, nothing is written). */
  async sync(): Promise<void> {
    if (this.#closed) throw new RingError('CLOSED', 'this RingCoordinator is closed');
    await this.#run();
  }

  /** Stops watching membership; pending work is dropped. Does not close the adapters. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#wake);
    clearInterval(this.#resync);
    this.#unwatch();
    await this.#running?.catch(() => undefined);
    this.removeAllListeners();
  }

  /** Debounces: runs `settleMs` after the last event, but no later than 10 x `settleMs` after the first. */
  #schedule(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#timer === undefined) this.#firstPending = now;
    else clearTimeout(this.#timer);
    const deadline = this.#firstPending + 10 * this.#settleMs;
    const delay = Math.max(0, Math.min(this.#settleMs, deadline - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run().catch((error: unknown) => this.#report(error));
    }, delay);
    this.#timer.unref?.();
  }

  /** Runs a reconciliation at `at` (ms since the epoch) unless one is due earlier. */
  #wakeAtTime(at: number): void {
    if (this.#closed || (this.#wake !== undefined && this.#wakeAt <= at)) return;
    clearTimeout(this.#wake);
    this.#wakeAt = at;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#schedule();
    }, Math.max(0, at - Date.now()));
    this.#wake.unref?.();
  }

  /** One reconciliation at a time; a request during a run queues exactly one more. */
  async #run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#reconcile();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** One backend call with the deadline; a failure marks the backend as failing and schedules a retry. */
  async #call<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await this.#flight.run(call, this.#timeoutMs, what, () => this.#schedule());
    } catch (error) {
      if (!(error instanceof RingError && error.code === 'INVALID_SNAPSHOT' && what === 'store read')) {
        this.#failing = true;
        this.#wakeAtTime(Date.now() + Math.min(this.#resyncMs, 1000));
      }
      throw error;
    }
  }

  /**
   * Reads the store first, then membership, then compare-and-sets: a write can
   * only succeed if nothing was written since the read, and the membership it
   * writes is newer than whatever the read returned, so no older list ever
   * overwrites a newer one.
   */
  async #reconcile(): Promise<void> {
    for (let attempt = 0; attempt < 100 && !this.#closed; attempt++) {
      let state: RingState | null = null;
      let garbage: RingError | undefined;
      try {
        state = await this.#call(() => this.#store.read(), 'store read');
      } catch (error) {
        if (!(error instanceof RingError && error.code === 'INVALID_SNAPSHOT')) throw error;
        garbage = error;
      }
      const members = await this.#call(() => this.#membership.members(), 'membership read');
      const now = Date.now();
      if (this.#failing) {
        // Back after an outage: members may still be re-registering.
        this.#failing = false;
        this.#holdUntil = Math.max(this.#holdUntil, now + this.#graceMs);
      }
      if (state === null && garbage === undefined && this.#seenRing && this.#emptySince === undefined) {
        // The store lost its data: wait for members to re-register before starting a new epoch.
        this.#emptySince = now;
        this.#holdUntil = Math.max(this.#holdUntil, now + this.#graceMs);
      }
      if (state !== null) {
        this.#seenRing = true;
        this.#emptySince = undefined;
        if (sameMembers(state.nodes, members)) return;
      }
      if (now < this.#holdUntil) {
        log(this.#logger, { level: 'info', source: 'coordinator', event: 'hold', message: `holding writes for ${this.#holdUntil - now} ms more (grace period: members may still be re-registering); ${members.length} live members`, fields: { remainingMs: this.#holdUntil - now, members: members.length } });
        this.#wakeAtTime(this.#holdUntil);
        return;
      }
      let written: RingState | null;
      if (garbage !== undefined) {
        this.#report(new RingError('INVALID_SNAPSHOT', `the ring store holds a value that cannot be read; writing a new epoch from live membership (${garbage.message})`, { cause: garbage }));
        written = await this.#call(() => this.#store.repair(members), 'store repair');
      } else {
        written = await this.#call(() => this.#store.compareAndSet(state?.version ?? 0, members, state?.epoch), 'store write');
      }
      if (written !== null) {
        this.#seenRing = true;
        log(this.#logger, { level: 'info', source: 'coordinator', event: 'write', message: `wrote ring ${written.epoch} version ${written.version}: ${written.nodes.map((n) => n.id).join(', ') || 'no nodes'}`, fields: { epoch: written.epoch, version: written.version, nodes: written.nodes.length } });
        this.emit('write', written);
        return;
      }
    }
    if (!this.#closed) throw new RingError('INVALID_OPTION', 'the ring store kept changing during 100 compare-and-set attempts');
  }

  #report(error: unknown): void {
    if (!this.#closed) log(this.#logger, { level: 'warn', source: 'coordinator', event: 'error', message: String((error as Error)?.message ?? error) });
    if (!this.#closed) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
