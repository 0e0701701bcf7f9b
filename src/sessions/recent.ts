import type { DeliveryOutcome } from './outcome.js';

/**
 * Outcomes of messages a node finished for remote senders, by
 * `(sender, id, key)`, so a sender's retry gets the same outcome again
 * instead of a second delivery. Bounded in time (`windowMs`) and count
 * (`max`, the oldest forgotten first); a retry that comes after its entry
 * was forgotten is delivered again, and the client drops the duplicate by id.
 */
export class RecentOutcomes {
  readonly #entries = new Map<string, { readonly outcome: DeliveryOutcome; readonly at: number }>();
  readonly #windowMs: number;
  readonly #max: number;

  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string, now: number): DeliveryOutcome | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (now - entry.at > this.#windowMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.outcome;
  }

  set(id: string, outcome: DeliveryOutcome, now: number): void {
    this.#entries.delete(id);
    this.#entries.set(id, { outcome, at: now });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Forgets entries older than the window (insertion order is time order). */
  prune(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (now - entry.at <= this.#windowMs) break;
      this.#entries.delete(id);
    }
  }
}
