import { EventEmitter } from 'eventemitter3';
import { sameMembers } from './compare.js';
import type { MembershipAdapter, RingState, RingStore } from './contracts.js';
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
}

/** Events of a {@link RingCoordinator}. */
export interface RingCoordinatorEvents {
  /** The coordinator wrote a new ring version. */
  write: [state: RingState];
  /** A read or write failed; the coordinator retries on the next event or resync. */
  error: [error: Error];
}

/**
 * Applies membership to the ring store: whenever members join, leave, expire
 * or change, it writes the live member list as the next ring version with
 * compare-and-set. Safe to run on every gateway at once: coordinators that
 * race simply retry, and all write the same list.
 */
export class RingCoordinator extends EventEmitter<RingCoordinatorEvents> {
  readonly #membership: MembershipAdapter;
  readonly #store: RingStore;
  readonly #settleMs: number;
  readonly #unwatch: () => void;
  readonly #resync: ReturnType<typeof setInterval>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstPending = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  private constructor(options: RingCoordinatorOptions, settleMs: number, resyncMs: number) {
    super();
    this.#membership = options.membership;
    this.#store = options.store;
    this.#settleMs = settleMs;
    this.#unwatch = this.#membership.watch(
      () => this.#schedule(),
      (error) => this.emit('error', error),
    );
    this.#resync = setInterval(() => this.#schedule(), resyncMs);
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
    if (!Number.isFinite(settleMs) || settleMs < 0) throw new RingError('INVALID_OPTION', `settleMs must be a number >= 0, got ${describe(settleMs)}`);
    if (!Number.isFinite(resyncMs) || resyncMs <= 0) throw new RingError('INVALID_OPTION', `resyncMs must be a positive number, got ${describe(resyncMs)}`);
    const coordinator = new RingCoordinator(options, settleMs, resyncMs);
    try {
      await coordinator.#reconcile();
    } catch (error) {
      await coordinator.close();
      throw error;
    }
    return coordinator;
  }

  /** Brings the store in line with membership now, without waiting for the settle time. */
  async sync(): Promise<void> {
    if (this.#closed) throw new RingError('CLOSED', 'this RingCoordinator is closed');
    await this.#run();
  }

  /** Stops watching membership; pending work is dropped. Does not close the adapters. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
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
      this.#run().catch((error: unknown) => this.emit('error', asError(error)));
    }, delay);
    this.#timer.unref?.();
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

  /**
   * Reads the store first, then membership, then compare-and-sets: a write can
   * only succeed if nothing was written since the read, and the membership it
   * writes is newer than whatever the read returned, so no older list ever
   * overwrites a newer one.
   */
  async #reconcile(): Promise<void> {
    for (let attempt = 0; attempt < 100 && !this.#closed; attempt++) {
      const state = await this.#store.read();
      const members = await this.#membership.members();
      if (state !== null && sameMembers(state.nodes, members)) return;
      const written = await this.#store.compareAndSet(state?.version ?? 0, members);
      if (written !== null) {
        this.emit('write', written);
        return;
      }
    }
    if (!this.#closed) throw new RingError('INVALID_OPTION', 'the ring store kept changing during 100 compare-and-set attempts');
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
