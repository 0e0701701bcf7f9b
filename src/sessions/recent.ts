import type { DeliveryOutcome } from './outcome.js';

interface Entry {
  readonly id: string;
  readonly outcome: DeliveryOutcome;
  readonly at: number;
}

/** Garbage the order queue may hold beyond one slot per entry before it is compacted. */
const SLACK = 1024;

/**
 * Outcomes of messages a node finished for remote senders, by
 * `(sender, id, key)`, so a sender's retry gets the same outcome again
 * instead of a second delivery. Bounded in time (`windowMs`) and count
 * (`max`, the oldest forgotten first); a retry that comes after its entry
 * was forgotten is delivered again, and the client drops the duplicate by id.
 *
 * `set`, `get` and forgetting the oldest are O(1) amortized. The order of
 * setting is kept in a queue of its own (with a head index), not read from
 * the Map: taking a Map's first key walks every slot deleted at its front
 * since the last rehash (tens of microseconds per call at 100,000 entries).
 * A queue item whose id was set again, or forgotten, since is no longer the
 * Map's entry for that id and is skipped; after a `set` or `prune` the queue
 * is compacted once its dead and skipped items outnumber the entries by more
 * than 1024, so it never holds more than `2 * max + 1024` items (each
 * compaction costs less than twice the sets that made its garbage).
 */
export class RecentOutcomes {
  readonly #entries = new Map<string, Entry>();
  /** Entries in the order they were set, from `#head`; an item is live while the Map holds it for its id. */
  readonly #queue: Array<Entry | undefined> = [];
  #head = 0;
  readonly #windowMs: number;
  readonly #max: number;

  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Slots the order queue holds, live or not (for tests: at most `2 * max + 1024`, and `2 * size + 1024` after a set or prune). */
  get queueLength(): number {
    return this.#queue.length;
  }

  get(id: string, now: number): DeliveryOutcome | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (now - entry.at > this.#windowMs) {
      // Its queue item is skipped when it comes to the front.
      this.#entries.delete(id);
      return undefined;
    }
    return entry.outcome;
  }

  set(id: string, outcome: DeliveryOutcome, now: number): void {
    const entry: Entry = { id, outcome, at: now };
    // Replacing the value leaves the id's earlier queue item stale (skipped); this one is its place now.
    this.#entries.set(id, entry);
    this.#queue.push(entry);
    if (this.#entries.size > this.#max) this.#shiftLive();
    this.#compactIfSparse();
  }

  /** Forgets entries older than the window (setting order is time order): stops at the first fresh one. */
  prune(now: number): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head]!;
      if (this.#entries.get(entry.id) === entry) {
        if (now - entry.at <= this.#windowMs) break;
        this.#entries.delete(entry.id);
      }
      queue[this.#head++] = undefined;
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else this.#compactIfSparse();
  }

  /** Forgets the oldest entry; there is one (the Map is not empty, and each of its entries is queued from the head on). */
  #shiftLive(): void {
    const queue = this.#queue;
    for (;;) {
      const entry = queue[this.#head]!;
      queue[this.#head++] = undefined;
      if (this.#entries.get(entry.id) === entry) {
        this.#entries.delete(entry.id);
        return;
      }
    }
  }

  /** Keeps only the live items, in order, from index 0, once the rest outnumber them by more than SLACK. */
  #compactIfSparse(): void {
    if (this.#queue.length - this.#entries.size <= this.#entries.size + SLACK) return;
    const queue = this.#queue;
    let w = 0;
    for (let r = this.#head; r < queue.length; r++) {
      const entry = queue[r]!;
      if (this.#entries.get(entry.id) === entry) queue[w++] = entry;
    }
    queue.length = w;
    this.#head = 0;
  }
}
