import { HOLD, UNHOLD } from './message.js';

/** Rooms per HOLD/UNHOLD message. */
const HOLD_BATCH = 500;

/** What a ring must answer here. */
interface OwnerRing {
  readonly size: number;
  lookup(key: string): { readonly id: string };
}

/** The owner of `key` on `ring`, or undefined on an empty ring. */
export function ownerIn(ring: OwnerRing | undefined, key: string): string | undefined {
  if (ring === undefined || ring.size === 0) return undefined;
  return ring.lookup(key).id;
}

/**
 * The keyed rooms a server holds sockets in without owning them ("strays"),
 * each registered at its owner so the owner forwards the room's packets here
 * (docs/socketio.md). A room's first local socket registers it at once; its
 * last leaving withdraws it; a ring change moves the registrations whose
 * owner changed; all are renewed periodically and sent again to an owner that
 * (re)starts. Batched registrations go out per owner, up to 500 rooms a
 * message.
 */
export class StrayRooms {
  readonly #owners = new Map<string, string>();
  readonly #pending = new Map<string, { hold: Set<string>; unhold: Set<string> }>();
  readonly #self: string;
  readonly #roomKey: (room: string) => string | undefined;
  readonly #send: (owner: string, type: number, rooms: string[]) => void;
  #flushScheduled = false;
  #closed = false;

  /** @param send publishes a HOLD or UNHOLD of `rooms` to `owner` */
  constructor(self: string, roomKey: (room: string) => string | undefined, send: (owner: string, type: number, rooms: string[]) => void) {
    this.#self = self;
    this.#roomKey = roomKey;
    this.#send = send;
  }

  get size(): number {
    return this.#owners.size;
  }

  /** A room got its first local socket (never call it for a socket's own room). */
  created(room: string, ring: OwnerRing): void {
    const key = this.#roomKey(room);
    if (key === undefined) return;
    const owner = ownerIn(ring, key);
    if (owner === undefined || owner === this.#self) return;
    this.#owners.set(room, owner);
    // Sent now, not batched: it then leaves before any packet emitted after the join.
    this.#send(owner, HOLD, [room]);
  }

  /** A room lost its last local socket. */
  deleted(room: string): void {
    const owner = this.#owners.get(room);
    if (owner === undefined) return;
    this.#owners.delete(room);
    this.#send(owner, UNHOLD, [room]);
  }

  /** The ring changed: `rooms` are the local rooms that are not sockets' own. */
  ringChanged(rooms: Iterable<string>, ring: OwnerRing): void {
    for (const room of rooms) {
      const key = this.#roomKey(room);
      if (key === undefined) continue;
      const before = this.#owners.get(room);
      const owner = ownerIn(ring, key);
      if (owner === before) continue;
      if (before !== undefined) this.#queue(before, room, false);
      if (owner === undefined || owner === this.#self) {
        this.#owners.delete(room);
      } else {
        this.#owners.set(room, owner);
        this.#queue(owner, room, true);
      }
    }
  }

  /** Sends every registration at `node` again (it has just started). */
  resendTo(node: string): void {
    for (const [room, owner] of this.#owners) if (owner === node) this.#queue(owner, room, true);
  }

  /** Renews every registration. */
  refresh(): void {
    for (const [room, owner] of this.#owners) this.#queue(owner, room, true);
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }

  #queue(owner: string, room: string, hold: boolean): void {
    let pending = this.#pending.get(owner);
    if (pending === undefined) this.#pending.set(owner, (pending = { hold: new Set(), unhold: new Set() }));
    (hold ? pending.unhold : pending.hold).delete(room);
    (hold ? pending.hold : pending.unhold).add(room);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    for (const [owner, { hold, unhold }] of this.#pending) {
      for (const [type, rooms] of [[HOLD, [...hold]], [UNHOLD, [...unhold]]] as const) {
        for (let i = 0; i < rooms.length; i += HOLD_BATCH) this.#send(owner, type, rooms.slice(i, i + HOLD_BATCH));
      }
    }
    this.#pending.clear();
  }
}
