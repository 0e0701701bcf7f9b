import type { WireMessage, WireOptions } from './message.js';

interface Entry {
  readonly message: WireMessage;
  readonly rooms: readonly string[];
  readonly size: number;
  readonly at: number;
  /** Nodes this owner already sent a copy to (often none: kept as the array it was given until a replay adds one). */
  sentTo: readonly string[] | Set<string>;
}

/**
 * The keyed packets an owner handled in the last `windowMs`, so that a
 * registration (`HOLD`) that reaches it after a packet emitted after the
 * join still gets that packet. A join and an emit on two different servers
 * travel over two connections, and pub/sub keeps no order between
 * connections: the registration can arrive a little late. Bounded by time and
 * by bytes (the oldest goes first); a registration later than what the
 * buffer still holds misses the packets in between, which `overflowed`
 * tells.
 */
export class ReplayBuffer {
  readonly #entries: Entry[] = [];
  readonly #windowMs: number;
  readonly #maxBytes: number;
  #head = 0;
  #bytes = 0;
  /** When an entry still inside the window was dropped for room. */
  #droppedAt = Number.NEGATIVE_INFINITY;

  constructor(windowMs: number, maxBytes: number) {
    this.#windowMs = windowMs;
    this.#maxBytes = maxBytes;
  }

  /** Remembers a packet this owner handled (with the nodes it forwarded it to). */
  add(message: WireMessage, size: number, sentTo: readonly string[], now: number): void {
    this.#trim(now);
    const rooms = ((message.data as { opts?: WireOptions } | undefined)?.opts?.rooms ?? []) as string[];
    this.#entries.push({ message, rooms, size, at: now, sentTo });
    this.#bytes += size;
    while (this.#bytes > this.#maxBytes && this.#head < this.#entries.length) {
      this.#droppedAt = now;
      this.#bytes -= this.#entries[this.#head]!.size;
      this.#entries[this.#head++] = undefined as unknown as Entry;
    }
    this.#compact();
  }

  /** The packets within the window, in order, for `rooms`, not from or already sent to `node`; marks them sent. */
  take(node: string, rooms: ReadonlySet<string>, now: number): WireMessage[] {
    this.#trim(now);
    const out: WireMessage[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.message.node === node || !entry.rooms.some((room) => rooms.has(room))) continue;
      const sent = entry.sentTo instanceof Set ? entry.sentTo : (entry.sentTo = new Set(entry.sentTo));
      if (sent.has(node)) continue;
      sent.add(node);
      out.push(entry.message);
    }
    return out;
  }

  /** Whether packets inside the window were dropped for lack of room (a late registration may have missed some). */
  overflowed(now: number): boolean {
    return now - this.#droppedAt < this.#windowMs;
  }

  #trim(now: number): void {
    while (this.#head < this.#entries.length && now - this.#entries[this.#head]!.at > this.#windowMs) {
      this.#bytes -= this.#entries[this.#head]!.size;
      this.#entries[this.#head++] = undefined as unknown as Entry;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
