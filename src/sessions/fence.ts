import { RingError, describe } from '../errors.js';
import type { Membership } from '../live/contracts.js';

/** Options of `SessionNode.followLease`. */
export interface LeaseOptions {
  /**
   * The node fences itself this long before its lease runs out: time for the
   * check to run and for the fence to take effect before the store could
   * expire the member. At least 10 ms.
   * @default max(100, the lease's ttlMs / 10)
   */
  readonly marginMs?: number;
  /**
   * A node fenced this long assumes it was cut off (not that the store is
   * down for everyone, when nobody's membership can expire) and closes its
   * sessions with 4006 so their users reconnect through a gateway to the
   * keys' new owners. A store outage shorter than this moves no session.
   * @default 20000
   */
  readonly closeAfterMs?: number;
}

/** What a fence change reports, from `SessionNode`'s `fence` and `unfence` events. */
export interface FenceReport {
  /** `lease`: the lease ran out (less the margin); `renewed`: a heartbeat the store confirmed gave it back. */
  readonly reason: 'lease' | 'renewed';
  /** The lease's end, as `performance.now()`, when the change happened. */
  readonly leaseUntil: number;
  /** For `unfence`: how long the node was fenced, in ms; 0 for `fence`. */
  readonly fencedMs: number;
  /** For `unfence`: sessions this fence closed (4006) after `closeAfterMs`; 0 for `fence`. */
  readonly sessionsClosed: number;
}

/** What the fence asks of its node. */
export interface FenceHost {
  /** The node is fenced now. */
  fenced(report: FenceReport): void;
  /** Close every session (4006): the node stayed fenced `closeAfterMs`. Returns how many. */
  closeAll(): number;
  /** The lease is back: bring the ring up to date (its changes hand over what moved meanwhile); resolves when done. */
  catchUp(): Promise<void>;
  /** The node is unfenced now. */
  unfenced(report: FenceReport): void;
  /** A background failure (the catch-up read failed: the node stays fenced and tries again). */
  fail(error: unknown): void;
}

export const DEFAULT_FENCE_CLOSE_AFTER_MS = 20_000;
const MIN_MARGIN_MS = 10;

/**
 * Self-fencing: a node acts as an owner only while its membership's lease
 * holds. Past `lease.until - marginMs` it is fenced: it writes no message
 * and accepts no session (the node asks {@link fencedNow} on its hot paths,
 * so even a process resumed after SIGSTOP checks before it acts). When the
 * lease comes back, the node first reads the ring (what moved meanwhile is
 * handed over as on any change) and then unfences. A fence that lasts
 * `closeAfterMs` closes the node's sessions.
 */
export class Fence {
  readonly #membership: Membership;
  readonly #marginMs: number;
  readonly #closeAfterMs: number;
  readonly #host: FenceHost;
  #fencedSince: number | null = null;
  #catchingUp = false;
  #sessionsClosed = 0;
  /** Sessions this fence closed; null until it closed them. */
  #closedThisFence: number | null = null;
  #fences = 0;
  #fencedTotalMs = 0;
  #stopped = false;

  constructor(membership: Membership, options: LeaseOptions, host: FenceHost) {
    if (typeof membership !== 'object' || membership === null || typeof membership.leave !== 'function') {
      throw new RingError('INVALID_OPTION', `followLease() needs the Membership that join() returned, got ${describe(membership)}`);
    }
    if (membership.lease === undefined) {
      throw new RingError('INVALID_OPTION', 'followLease() needs a Membership with a lease; this membership adapter does not report one (see MembershipLease)');
    }
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `followLease() options must be an object, got ${describe(options)}`);
    const { marginMs, closeAfterMs = DEFAULT_FENCE_CLOSE_AFTER_MS } = options;
    if (marginMs !== undefined && (typeof marginMs !== 'number' || !Number.isFinite(marginMs) || marginMs < MIN_MARGIN_MS)) {
      throw new RingError('INVALID_OPTION', `marginMs must be a number of at least ${MIN_MARGIN_MS}, got ${describe(marginMs)}`);
    }
    if (typeof closeAfterMs !== 'number' || !(closeAfterMs >= 0) || !Number.isFinite(closeAfterMs)) {
      throw new RingError('INVALID_OPTION', `closeAfterMs must be a finite number >= 0, got ${describe(closeAfterMs)}`);
    }
    this.#membership = membership;
    this.#marginMs = marginMs ?? Math.max(100, membership.lease.ttlMs / 10);
    this.#closeAfterMs = closeAfterMs;
    this.#host = host;
  }

  /** How often the node's timer should call {@link check}. */
  get checkEveryMs(): number {
    return Math.max(5, Math.min(250, this.#marginMs / 2));
  }

  get fenced(): boolean {
    return this.#fencedSince !== null;
  }

  get counts(): { fences: number; fencedMs: number; fencedCloses: number } {
    const current = this.#fencedSince === null ? 0 : performance.now() - this.#fencedSince;
    return { fences: this.#fences, fencedMs: Math.round(this.#fencedTotalMs + current), fencedCloses: this.#sessionsClosed };
  }

  /** The hot-path test: fenced now? (The lease is read every time: it can also end early, when another process took the id.) */
  fencedNow(): boolean {
    if (this.#fencedSince === null && performance.now() < (this.#membership.lease?.until ?? Number.POSITIVE_INFINITY) - this.#marginMs) return false;
    this.check();
    return this.#fencedSince !== null;
  }

  /** Reads the lease and fences, closes or starts unfencing as it says. */
  check(now = performance.now()): void {
    if (this.#stopped) return;
    const until = this.#membership.lease?.until ?? Number.POSITIVE_INFINITY;
    const fenceAt = until - this.#marginMs;
    if (now < fenceAt) {
      if (this.#fencedSince !== null) this.#catchUp();
      return;
    }
    if (this.#fencedSince === null) {
      this.#fencedSince = now;
      this.#closedThisFence = null;
      this.#fences++;
      this.#host.fenced({ reason: 'lease', leaseUntil: until, fencedMs: 0, sessionsClosed: 0 });
    }
    if (this.#closedThisFence === null && now - this.#fencedSince >= this.#closeAfterMs) {
      this.#closedThisFence = this.#host.closeAll();
      this.#sessionsClosed += this.#closedThisFence;
    }
  }

  /** No more checks (the node closes). */
  stop(): void {
    this.#stopped = true;
  }

  #catchUp(): void {
    if (this.#catchingUp) return;
    this.#catchingUp = true;
    this.#host.catchUp().then(
      () => {
        this.#catchingUp = false;
        const now = performance.now();
        const until = this.#membership.lease?.until ?? Number.POSITIVE_INFINITY;
        // Still fenced, and the lease still holds after the read: unfence (else the next check fences on).
        if (this.#stopped || this.#fencedSince === null || now >= until - this.#marginMs) return;
        const fencedMs = now - this.#fencedSince;
        this.#fencedSince = null;
        this.#fencedTotalMs += fencedMs;
        this.#host.unfenced({ reason: 'renewed', leaseUntil: until, fencedMs: Math.round(fencedMs), sessionsClosed: this.#closedThisFence ?? 0 });
      },
      (error: unknown) => {
        this.#catchingUp = false;
        this.#host.fail(error);
      },
    );
  }
}
