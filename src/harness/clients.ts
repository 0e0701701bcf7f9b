/**
 * The users' end of a node's sessions, in the node's process: sockets that
 * take `msg` frames and acknowledge them as `ringroute/client` does (after
 * the frame, on a later tick, as over a network), recording which
 * (message, user) pairs arrived, and how often, for the exactly-once check.
 */
import type { SessionNode } from '../sessions/session-node.js';
import type { Session } from '../sessions/session.js';
import type { SessionSocket } from '../sessions/socket.js';
import type { CategoryClock } from './category-clock.js';
import { DeliveryChecksum } from './checksum.js';
import { userIndex } from './users.js';

/** `{"t":"msg","id":"` : a message id starts after it (see `messageFrame` in sessions/protocol.ts). */
const ID_START = 17;

/** What the clients of one node counted since the last reset. */
export interface ClientCounts {
  /** Distinct (message, user) pairs received. */
  delivered: number;
  /** Frames of a pair already received. */
  duplicates: number;
  checksum: string;
  /** Distinct messages that reached at least one session here: node visits that were not wasted. */
  usefulVisits: number;
  /** Sessions the node closed (none expected while the ring stands still). */
  closed: number;
}

/**
 * Message ids on the wire are `<round>:<index>`, so that a round never
 * meets the outcomes the nodes and senders remember from the one before.
 */
export const wireId = (round: number, index: number): string => `${round}:${index}`;

export class Clients {
  readonly #clock: CategoryClock | null;
  #seen = new Set<number>();
  #messages = new Set<number>();
  #checksum = new DeliveryChecksum();
  #duplicates = 0;
  #closed = 0;
  readonly #acks: Array<{ session: Session; frame: string }> = [];
  #flushing = false;

  constructor(clock: CategoryClock | null = null) {
    this.#clock = clock;
  }

  /** A socket for user number `user`; attach it, then give it its session with {@link AckSocket.session}. */
  socket(user: number): AckSocket {
    return new AckSocket(user, this);
  }

  /**
   * A frame a node wrote to user number `user`'s client: records a message
   * and returns the ack frame to send back, or null for a frame that needs
   * none (welcome, ping, move).
   */
  receive(user: number, text: string): string | null {
    if (text.charCodeAt(7) !== 0x73 /* s of "msg" */) return null;
    const clock = this.#clock;
    const previous = clock?.enter('clients') ?? 'rest';
    const end = text.indexOf('"', ID_START);
    const id = text.slice(ID_START, end);
    const index = Number(id.slice(id.indexOf(':') + 1));
    // Up to 2^53 / 2^24 messages in a round, 2^24 users: one number per pair.
    const pair = index * 16_777_216 + user;
    if (this.#seen.has(pair)) this.#duplicates++;
    else {
      this.#seen.add(pair);
      this.#messages.add(index);
      this.#checksum.add(index, user);
    }
    clock?.exit(previous);
    return `{"t":"ack","id":"${id}"}`;
  }

  /** @internal A frame the node wrote to an in-memory socket: acknowledged on a later tick, as over a network. */
  frame(socket: AckSocket, text: string): void {
    const ack = this.receive(socket.user, text);
    if (ack === null) return;
    this.#acks.push({ session: socket.session!, frame: ack });
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => this.#flush());
    }
  }

  /** @internal */
  closedOne(): void {
    this.#closed++;
  }

  counts(): ClientCounts {
    return { delivered: this.#seen.size, duplicates: this.#duplicates, checksum: this.#checksum.toString(), usefulVisits: this.#messages.size, closed: this.#closed };
  }

  reset(): void {
    this.#seen = new Set();
    this.#messages = new Set();
    this.#checksum = new DeliveryChecksum();
    this.#duplicates = 0;
    this.#closed = 0;
  }

  /** The acks of this tick, back to the node: its work (settling, reporting the outcome) counts as the node's. */
  #flush(): void {
    this.#flushing = false;
    const clock = this.#clock;
    const previous = clock?.enter('delivery') ?? 'rest';
    const acks = this.#acks.splice(0);
    for (const { session, frame } of acks) session.receive(frame);
    clock?.exit(previous);
  }
}

/** One user's connection, in memory: the node writes to it, it acknowledges through {@link Clients}. */
export class AckSocket implements SessionSocket {
  readonly user: number;
  readonly bufferedAmount = 0;
  session: Session | null = null;
  readonly #clients: Clients;

  constructor(user: number, clients: Clients) {
    this.user = user;
    this.#clients = clients;
  }

  send(data: string): void {
    if (this.session === null) return; // the welcome, before attach() returned
    this.#clients.frame(this, data);
  }

  close(): void {
    this.#clients.closedOne();
  }
}

/** Attaches every user to `node` on an in-memory socket of `clients`. */
export function attachMemoryUsers(node: SessionNode, users: readonly string[], clients: Clients): void {
  for (const user of users) {
    const socket = clients.socket(userIndex(user));
    socket.session = node.attach(user, socket);
    if (socket.session === null) throw new Error(`${node.id} refused ${user}: the bench placed it on the wrong node`);
  }
}
