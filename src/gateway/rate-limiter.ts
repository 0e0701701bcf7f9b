/**
 * Per-sender token buckets with a bound on how many senders are tracked.
 * A bucket that has refilled completely carries no state, so it is the one
 * dropped when the table is full; when every tracked sender is still
 * draining its bucket, a new sender is refused (the caller answers 503).
 */
export interface RateDecision {
  /** `ok`: take the request; `limited`: this sender is over its rate (429); `full`: too many senders tracked (503). */
  readonly verdict: 'ok' | 'limited' | 'full';
  /** Seconds until a token is available again (for `Retry-After`). */
  readonly retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerSecond: number, burst: number, maxSenders: number, now: () => number = Date.now) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#max = maxSenders;
    this.#now = now;
  }

  /** Senders tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Whether `sender` has a token now, without taking it (an untracked sender has its whole burst). */
  peek(sender: string): RateDecision {
    const bucket = this.#buckets.get(sender);
    if (bucket === undefined) return { verdict: 'ok', retryAfterSeconds: 0 };
    const tokens = Math.min(this.#burst, bucket.tokens + ((this.#now() - bucket.at) / 1000) * this.#rate);
    return tokens >= 1 ? { verdict: 'ok', retryAfterSeconds: 0 } : { verdict: 'limited', retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.#rate)) };
  }

  /** Takes `cost` tokens from `sender`'s bucket when it has them. */
  take(sender: string, cost = 1): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(sender);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#max && !this.#evict(now)) return { verdict: 'full', retryAfterSeconds: 1 };
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(sender, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens < cost) return { verdict: 'limited', retryAfterSeconds: Math.max(1, Math.ceil((cost - bucket.tokens) / this.#rate)) };
    bucket.tokens -= cost;
    return { verdict: 'ok', retryAfterSeconds: 0 };
  }

  /** Drops the buckets that have refilled (oldest first, the Map's order); true when room was made. */
  #evict(now: number): boolean {
    let dropped = 0;
    for (const [sender, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.#rate >= this.#burst) {
        this.#buckets.delete(sender);
        if (++dropped >= 64) break; // bounded work per call
      }
    }
    return this.#buckets.size < this.#max;
  }
}
