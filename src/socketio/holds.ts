/**
 * An owner's registry of the keyed rooms that other nodes hold sockets in
 * (sockets that connected to a node that does not own their key, or that
 * stayed there after a ring change). The owner forwards each message of such
 * a room to the nodes listed here. Registrations expire unless renewed; the
 * registry holds at most `max` of them, and a node whose registration did not
 * fit is remembered as "overflowed": it gets every keyed message the owner
 * receives until its registrations fit again. Slower, never lost.
 */
export class HoldDirectory {
  readonly #rooms = new Map<string, Map<string, number>>();
  readonly #overflow = new Map<string, number>();
  readonly #max: number;
  readonly #ttlMs: number;
  #size = 0;

  constructor(max: number, ttlMs: number) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  /** Registrations held. */
  get size(): number {
    return this.#size;
  }

  /** Nodes that overflowed the registry, within their time to live. */
  get overflowed(): number {
    return this.#overflow.size;
  }

  /** Registers (or renews) `node` as holding `rooms`; returns the rooms newly registered and how many did not fit. */
  hold(node: string, rooms: readonly string[], now: number): { added: Set<string>; refused: number } {
    let refused = 0;
    const added = new Set<string>();
    for (const room of rooms) {
      let holders = this.#rooms.get(room);
      if (holders?.has(node) !== true && this.#size >= this.#max) {
        refused++;
        continue;
      }
      if (holders === undefined) this.#rooms.set(room, (holders = new Map()));
      if (!holders.has(node)) {
        this.#size++;
        added.add(room);
      }
      holders.set(node, now);
    }
    if (refused > 0) this.#overflow.set(node, now);
    return { added, refused };
  }

  unhold(node: string, rooms: readonly string[]): void {
    for (const room of rooms) this.#remove(room, node);
  }

  /** Forgets every registration of `node` (it left the cluster). */
  dropNode(node: string): void {
    this.#overflow.delete(node);
    for (const [room, holders] of this.#rooms) if (holders.has(node)) this.#remove(room, node);
  }

  /** Adds to `into` the nodes registered for `room` and the overflowed ones. */
  holdersOf(room: string, into: Set<string>, now: number): void {
    const holders = this.#rooms.get(room);
    if (holders !== undefined) for (const [node, at] of holders) if (now - at <= this.#ttlMs) into.add(node);
    for (const [node, at] of this.#overflow) if (now - at <= this.#ttlMs) into.add(node);
  }

  /** Drops registrations not renewed within the time to live. */
  prune(now: number): void {
    for (const [room, holders] of this.#rooms) {
      for (const [node, at] of holders) if (now - at > this.#ttlMs) this.#remove(room, node);
    }
    for (const [node, at] of this.#overflow) if (now - at > this.#ttlMs) this.#overflow.delete(node);
  }

  #remove(room: string, node: string): void {
    const holders = this.#rooms.get(room);
    if (holders?.delete(node) !== true) return;
    this.#size--;
    if (holders.size === 0) this.#rooms.delete(room);
  }
}

/** Ids seen recently, the oldest forgotten first beyond `max`. */
export class RecentIds {
  readonly #ids = new Set<string>();
  /** The remembered ids in arrival order, as a ring: the slot at `#next` is the oldest. */
  readonly #order: Array<string | undefined>;
  #next = 0;

  constructor(max: number) {
    this.#order = new Array<string | undefined>(max);
  }

  /** True when `id` was seen before; else remembers it. */
  seen(id: string): boolean {
    if (this.#ids.has(id)) return true;
    const oldest = this.#order[this.#next];
    if (oldest !== undefined) this.#ids.delete(oldest);
    this.#order[this.#next] = id;
    this.#next = (this.#next + 1) % this.#order.length;
    this.#ids.add(id);
    return false;
  }
}
