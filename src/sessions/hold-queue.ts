import type { Parcel } from './parcel.js';

/** Bounds of a node's hold queue. */
export interface HoldQueueOptions {
  /** Messages held per key; one more is refused (`failed: hold-full`). @default 256 */
  readonly maxPerKey?: number;
  /** Approximate bytes held in total (UTF-16 strings x 2 + 160 per message); a message that would pass it is refused. @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
}

export const DEFAULT_HOLD_PER_KEY = 256;
export const DEFAULT_HOLD_BYTES = 64 * 1024 * 1024;

/**
 * Messages a node keeps for keys that are not connected to it: users it owns
 * who are moving in or reconnecting, or messages it could not forward yet.
 * Each waits until its deadline at most. Bounded per key and in bytes; what
 * does not fit is refused, and the caller reports it, never drops it.
 */
export class HoldQueue {
  readonly #byKey = new Map<string, Parcel[]>();
  readonly #maxPerKey: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #count = 0;

  constructor(maxPerKey: number, maxBytes: number) {
    this.#maxPerKey = maxPerKey;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Holds `parcel`; false (nothing changed) when a bound is reached. */
  add(parcel: Parcel): boolean {
    const queue = this.#byKey.get(parcel.key);
    if (this.#bytes + parcel.bytes > this.#maxBytes || (queue !== undefined && queue.length >= this.#maxPerKey)) return false;
    if (queue === undefined) this.#byKey.set(parcel.key, [parcel]);
    else queue.push(parcel);
    this.#bytes += parcel.bytes;
    this.#count++;
    return true;
  }

  /** Removes and returns what is held for `key`, oldest first. */
  take(key: string): Parcel[] {
    const queue = this.#byKey.get(key);
    if (queue === undefined) return [];
    this.#byKey.delete(key);
    for (const p of queue) this.#bytes -= p.bytes;
    this.#count -= queue.length;
    return queue;
  }

  /** Keys with held messages. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }
}
