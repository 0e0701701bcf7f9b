/**
 * A {@link Transport} handle that counts what crosses it, around a real one:
 * messages and bytes published, and messages and bytes its listeners heard
 * (bytes as UTF-16 length: exact for the ASCII the bench sends, and free),
 * deliveries (to a node's address or to every node) apart from the rest
 * (outcomes, acks). The inner transport does all the work; this only counts,
 * and in a timed round attributes the time of publishes to `transport` and
 * of listeners to `listenerCategory`.
 */
import type { Transport } from '../live/transport.js';
import { BROADCAST_ADDRESS } from '../sessions/wire.js';
import type { Category, CategoryClock } from './category-clock.js';

/** What one handle counted since its last reset. */
export interface TransportCounts {
  published: number;
  publishedBytes: number;
  /** Messages heard by this handle's listeners, and their bytes. */
  received: number;
  receivedBytes: number;
  /** The part of `received` heard at a node's own address or the broadcast address: node visits. */
  deliveries: number;
}

export class CountingTransport implements Transport {
  counts: TransportCounts = emptyCounts();
  readonly #inner: Transport;
  readonly #clock: CategoryClock | null;
  readonly #listenerCategory: Category;

  /**
   * @param clock - the process's clock, or null for no timing.
   * @param listenerCategory - what the time in this handle's listeners counts as.
   */
  constructor(inner: Transport, clock: CategoryClock | null = null, listenerCategory: Category = 'delivery') {
    this.#inner = inner;
    this.#clock = clock;
    this.#listenerCategory = listenerCategory;
  }

  publish(address: string, message: string): Promise<number> {
    this.counts.published++;
    this.counts.publishedBytes += message.length;
    const clock = this.#clock;
    if (clock === null || !clock.on) return this.#inner.publish(address, message);
    const previous = clock.enter('transport');
    try {
      return this.#inner.publish(address, message);
    } finally {
      clock.exit(previous);
    }
  }

  listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    const visit = address === BROADCAST_ADDRESS || address.startsWith('node:');
    const clock = this.#clock;
    const category = this.#listenerCategory;
    return this.#inner.listen(
      address,
      (message) => {
        const c = this.counts;
        c.received++;
        c.receivedBytes += message.length;
        if (visit) c.deliveries++;
        if (clock === null || !clock.on) return listener(message);
        const previous = clock.enter(category);
        try {
          listener(message);
        } finally {
          clock.exit(previous);
        }
      },
      onError,
    );
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Zeroes the counts (before a round). */
  reset(): void {
    this.counts = emptyCounts();
  }
}

function emptyCounts(): TransportCounts {
  return { published: 0, publishedBytes: 0, received: 0, receivedBytes: 0, deliveries: 0 };
}
