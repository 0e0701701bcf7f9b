/** The last `capacity` message ids, to drop repeats: a Set plus a ring buffer that evicts the oldest. */
export class SeenIds {
  readonly #set = new Set<string>();
  readonly #ring: Array<string | undefined>;
  #next = 0;

  constructor(capacity: number) {
    this.#ring = new Array<string | undefined>(capacity);
  }

  /** True when `id` was seen (and it stays remembered); otherwise remembers it and returns false. */
  seen(id: string): boolean {
    if (this.#set.has(id)) return true;
    const old = this.#ring[this.#next];
    if (old !== undefined) this.#set.delete(old);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#set.add(id);
    return false;
  }
}
