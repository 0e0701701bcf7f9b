/**
 * `Retry-After` for a gateway that is full (at `maxTunnels`, or out of its
 * descriptor budget). A full queue drains in seconds, but a full gateway has
 * room again only when tunnels close, and WebSocket sessions last for hours:
 * a short `Retry-After` there only brings the same clients back to be
 * refused again, each refusal costing an accept, a parse and a write
 * (at the descriptor limit that made ringroute's users try 1.7 times as
 * often as HAProxy's, whose full listener leaves them in the kernel's queue).
 *
 * The wait is how long the tunnels that close take to make room for the
 * clients refused lately: refusals over the last {@link WINDOW_S} seconds
 * divided by the tunnels closed per second over the same window, between 1
 * and {@link MAX_RETRY_AFTER_S} seconds. A gateway where nothing closes
 * answers the longest wait after a few refusals; one whose sessions churn
 * answers a second or two.
 */

/** Seconds of history behind the estimate. */
export const WINDOW_S = 10;
/** The longest `Retry-After` the gateway gives (also the client's default longest backoff). */
export const MAX_RETRY_AFTER_S = 30;
/** A close rate of zero counts as this many closes a second, so a handful of refusals do not jump to the longest wait. */
const MIN_CLOSE_RATE = 0.1;

export class CapacityWait {
  readonly #closes = new Float64Array(WINDOW_S);
  readonly #refusals = new Float64Array(WINDOW_S);
  #second = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A tunnel closed: its descriptors are free for someone else. */
  closed(): void {
    this.#closes[this.#tick()]! += 1;
  }

  /** Counts one refusal for lack of room and returns its `Retry-After` in seconds. */
  refuse(): number {
    const i = this.#tick();
    this.#refusals[i]! += 1;
    let refused = 0;
    let closed = 0;
    for (let k = 0; k < WINDOW_S; k++) {
      refused += this.#refusals[k]!;
      closed += this.#closes[k]!;
    }
    const rate = Math.max(MIN_CLOSE_RATE, closed / WINDOW_S);
    return Math.max(1, Math.min(MAX_RETRY_AFTER_S, Math.ceil(refused / rate)));
  }

  /** The current second's bucket, clearing the buckets of the seconds that passed since the last call. */
  #tick(): number {
    const second = Math.floor(this.#now() / 1000);
    const gap = second - this.#second;
    if (gap > 0) {
      for (let k = 1; k <= Math.min(gap, WINDOW_S); k++) {
        const j = (this.#second + k) % WINDOW_S;
        this.#closes[j] = 0;
        this.#refusals[j] = 0;
      }
      this.#second = second;
    }
    return this.#second % WINDOW_S;
  }
}
