import { RingError } from '../errors.js';
import type { RingNode } from '../ring/types.js';
import { HoldQueue } from './hold-queue.js';
import { type ResolvedNodeOptions, withTimeout } from './options.js';
import type { DeliveryOutcome, UnknownReason } from './outcome.js';
import { type Parcel, makeParcel } from './parcel.js';
import { messageFrame } from './protocol.js';
import { RecentOutcomes } from './recent.js';
import type { Session } from './session.js';
import type { KeyEntry, SessionTable } from './session-table.js';
import { type DeliverWire, type OutcomeWire, type OutcomesWire, type Wire, nodeAddress, senderAddress } from './wire.js';

/** What a {@link Courier} needs from its node. */
export interface CourierHost {
  readonly options: ResolvedNodeOptions;
  readonly table: SessionTable;
  /** The key's owner on the node's ring, or null while the ring is empty. */
  owner(key: string): RingNode | null;
  /** The node the key moved here from in the latest ring change, while that change is recent; else null. */
  previousOwner(key: string): string | null;
  /** Whether the node is fenced now (its lease ran out): it then writes and forwards nothing, and holds. */
  fenced(): boolean;
  /** Closes a session whose buffer or in-flight count passed its bound (4003). */
  slowConsumer(session: Session): void;
  /** A background failure, for the node's `error` event. */
  fail(error: unknown): void;
}

/**
 * What a node does with each message for one key, until it has its one
 * outcome: write it to the key's sessions here and wait for the ack, hold it
 * (this node owns the key, or the hop limit is reached), or forward it to the
 * owner over the transport. It also remembers outcomes it reported to remote
 * senders (their retries get the same answer) and times out acks, held
 * messages and forwards that never got an answer. See docs/sessions.md.
 */
export class Courier {
  readonly counts = { forwarded: 0, delivered: 0, failed: 0, unknown: 0 };
  /** The node's reply address: outcomes of the messages it started come back here. */
  readonly reply: string;
  readonly #h: CourierHost;
  readonly #o: ResolvedNodeOptions;
  readonly #held: HoldQueue;
  readonly #recent: RecentOutcomes;
  /** Parcels written to sockets and not acknowledged. */
  readonly #inflight = new Set<Parcel>();
  /** Parcels started here and handed to another node, waiting for its outcome, by id + key. */
  readonly #local = new Map<string, Parcel>();
  /** Parcels started here and not settled yet (bounded by maxInFlight). */
  #pendingLocal = 0;
  /** Parcels of remote senders in progress here, by sender + id + key. */
  readonly #active = new Map<string, Parcel>();
  readonly #forwards = new Set<Promise<void>>();
  /**
   * Outcomes for senders that take batches, by address, until the end of this
   * turn of the event loop: the outcomes of a burst of acks go in one message.
   * Bounded by the parcels in progress (one entry each); emptied every turn.
   */
  readonly #outbox = new Map<string, Array<{ readonly id: string; readonly outcome: DeliveryOutcome }>>();
  #outboxScheduled = false;
  #closed = false;

  constructor(id: string, host: CourierHost) {
    this.#h = host;
    this.#o = host.options;
    this.#held = new HoldQueue(this.#o.maxPerKey, this.#o.maxHeldBytes);
    this.#recent = new RecentOutcomes(this.#o.dedupeWindowMs, this.#o.dedupeMax);
    this.reply = senderAddress(`node:${id}`);
  }

  get held(): number {
    return this.#held.size;
  }

  get heldBytes(): number {
    return this.#held.bytes;
  }

  get inFlight(): number {
    return this.#inflight.size;
  }

  /** Starts a message of this node; resolves to its outcome. */
  deliver(id: string, key: string, data: string, ttlMs: number): Promise<DeliveryOutcome> {
    if (this.#pendingLocal >= this.#o.maxInFlight) return Promise.resolve({ status: 'failed', key, reason: 'overloaded' });
    this.#pendingLocal++;
    const now = Date.now();
    return new Promise((resolve) => this.#route(makeParcel(id, key, data, this.reply, resolve, now + ttlMs, 0, false), true, now));
  }

  /** A message from the transport: a delivery (for some keys) or the outcome of one of ours. */
  receive(wire: Wire, broadcast: boolean): void {
    if (this.#closed) return;
    if (wire.t === 'o') return this.#outcome(wire.id, wire.outcome);
    if (wire.t === 'os') {
      for (const { id, outcome } of wire.list) this.#outcome(id, outcome);
      return;
    }
    const now = Date.now();
    for (const key of wire.keys) {
      const dk = `${wire.from}\0${wire.id}\0${key}`;
      if (this.#active.has(dk)) continue; // a retry of what is in progress here: its outcome will come
      const recent = this.#recent.get(dk, now);
      if (recent !== undefined) {
        this.#reportTo(wire.from, wire.id, recent);
        continue;
      }
      if (broadcast && !this.#h.table.has(key) && this.#h.owner(key)?.id !== this.#h.options.id) continue; // another node's recipient
      const p = makeParcel(wire.id, key, wire.data, wire.from, null, now + wire.ttl, wire.hops, wire.w === 1);
      p.dk = dk;
      p.viaPrevious = wire.v === 1;
      p.earlierCopy = wire.e === 1;
      p.batchOutcomes = wire.ob === 1;
      this.#active.set(dk, p);
      this.#route(p);
    }
  }

  /** The outcome of a message this node started and handed to another node. */
  #outcome(id: string, outcome: DeliveryOutcome): void {
    const p = this.#local.get(`${id}\0${outcome.key}`);
    if (p !== undefined) this.#settle(p, outcome);
  }

  /** The session acknowledged message `id`. */
  acked(session: Session, id: string): void {
    const p = session.inflight?.get(id);
    if (p === undefined) return; // a repeated ack
    session.inflight!.delete(id);
    this.#settle(p, { status: 'delivered', key: p.key, node: this.#o.id });
  }

  /** A session closed: what it had not acknowledged goes on (it was written, so it can no longer fail). */
  detached(session: Session): void {
    const inflight = session.inflight;
    if (inflight === undefined) return;
    session.inflight = undefined;
    for (const p of inflight.values()) {
      if (p.done || --p.copies > 0) continue;
      this.#inflight.delete(p);
      this.#route(p);
    }
  }

  /** A session attached: what is held for its key goes to it. */
  attached(key: string): void {
    for (const p of this.#held.take(key)) this.#route(p);
  }

  /** Times out acks and answers; expires held messages and sends on those that can go somewhere now. */
  sweep(now: number): void {
    this.sweepHeld(now);
    for (const p of this.#inflight) if (p.ackBy <= now) this.#settle(p, { status: 'unknown', key: p.key, reason: 'ack-timeout' });
    // Ours, handed to another node, never answered (the outcome can be lost on the way).
    const late = now - 2 * this.#o.publishTimeoutMs;
    for (const p of this.#local.values()) {
      if (p.handedOff && p.deadline < late && !this.#inflight.has(p)) this.#settle(p, { status: 'unknown', key: p.key, reason: 'no-outcome' });
    }
    this.#recent.prune(now);
  }

  /** Expires held messages and sends on those that can go somewhere now (a session here, or another owner). */
  sweepHeld(now: number): void {
    for (const key of this.#held.keys()) {
      const owner = this.#h.owner(key);
      const movable = this.#h.table.has(key) || (owner !== null && owner.id !== this.#o.id);
      for (const p of this.#held.take(key)) {
        if (p.done) continue;
        if (now >= p.deadline) this.#settle(p, this.#lastOutcome(p, 'expired'));
        else if (movable) {
          p.hops = 0; // time has passed since the earlier hops: the rings may agree now
          this.#route(p);
        } else this.#hold(p);
      }
    }
  }

  /** Closing, step 1: sends what is held to its owners and waits for the forwards in progress. */
  async drain(): Promise<void> {
    for (const key of this.#held.keys()) for (const p of this.#held.take(key)) this.#route(p);
    while (this.#forwards.size > 0) await Promise.all([...this.#forwards]);
  }

  /** Closing, step 2: every message still here gets its outcome now (`failed: closed`, or `unknown` when it was written). */
  close(): void {
    this.#closed = true;
    for (const key of this.#held.keys()) for (const p of this.#held.take(key)) this.#settle(p, this.#lastOutcome(p, 'closed'));
    for (const p of [...this.#inflight]) this.#settle(p, this.#lastOutcome(p, 'closed'));
    for (const p of [...this.#local.values()]) this.#settle(p, this.#lastOutcome(p, 'closed'));
    for (const p of [...this.#active.values()]) this.#settle(p, this.#lastOutcome(p, 'closed'));
    this.#flushOutbox(); // now, while the transport is still open
  }

  /** Writes here, holds (owner, or hop limit reached), or forwards to the owner. */
  #route(p: Parcel, initial = false, now = Date.now()): void {
    if (p.done) return;
    if (now >= p.deadline) return this.#settle(p, this.#lastOutcome(p, 'expired'));
    if (this.#h.fenced()) {
      // Not an owner while fenced: no write, no forward. Held until the lease is back (then the ring is read
      // again and it goes where it says) or its deadline (failed: fenced, unless it was written before).
      if (p.failReason === 'expired') p.failReason = 'fenced';
      return this.#hold(p);
    }
    const entry = this.#h.table.get(p.key);
    if (entry !== undefined) {
      const written = this.#write(p, entry, now);
      if (written === 'written') return;
      if (written === 'overloaded') return this.#settle(p, this.#lastOutcome(p, 'overloaded'));
    }
    const owner = this.#h.owner(p.key);
    if (owner === null) {
      if (initial) return this.#settle(p, { status: 'failed', key: p.key, reason: 'no-owner' });
      return this.#hold(p); // the ring is empty for now: wait for a node, until the deadline
    }
    if (this.#closed) return this.#settle(p, this.#lastOutcome(p, 'closed'));
    if (p.hops >= this.#o.maxHops) return this.#hold(p);
    if (owner.id !== this.#o.id) return this.#forward(p, owner.id);
    // Ours, and the user is not here. If the key just moved in, the previous owner may still hold the
    // session (its close is paced): offer it there once; it sends it back here if the user is gone.
    const previous = p.viaPrevious ? null : this.#h.previousOwner(p.key);
    if (previous === null) return this.#hold(p);
    p.viaPrevious = true;
    this.#forward(p, previous, true);
  }

  #write(p: Parcel, entry: KeyEntry, now: number): 'written' | 'none' | 'overloaded' {
    if (this.#inflight.size >= this.#o.maxInFlight) return 'overloaded';
    const frame = (p.frame ??= messageFrame(p.id, p.data));
    let copies = 0;
    let slow: Session[] | undefined;
    for (const session of entry.sessions) {
      if ((session.inflight?.size ?? 0) >= this.#o.maxInFlightPerSession || session.socket.bufferedAmount > this.#o.maxBufferedBytes) {
        (slow ??= []).push(session);
        continue;
      }
      try {
        session.socket.send(frame);
      } catch {
        continue; // not open: certainly not written
      }
      (session.inflight ??= new Map()).set(p.id, p);
      copies++;
    }
    if (copies > 0) {
      p.written = true;
      p.copies = copies;
      p.ackBy = now + this.#o.ackTimeoutMs;
      this.#inflight.add(p);
    }
    if (slow !== undefined) for (const session of slow) this.#h.slowConsumer(session);
    return copies > 0 ? 'written' : 'none';
  }

  #hold(p: Parcel): void {
    if (this.#held.add(p)) return;
    this.#settle(p, p.written || p.handedOff || p.earlierCopy ? { status: 'unknown', key: p.key, reason: p.earlierCopy && !p.written ? 'earlier-copy' : 'expired-after-write' } : { status: 'failed', key: p.key, reason: 'hold-full' });
  }

  /** Publishes `p` to `owner` (or, with `probe`, to the key's previous owner, where nobody listening is no sign of failure). */
  #forward(p: Parcel, owner: string, probe = false): void {
    const wire: DeliverWire = {
      t: 'd', id: p.id, from: p.from, keys: [p.key], data: p.data, hops: p.hops + 1, ttl: Math.max(0, p.deadline - Date.now()),
      w: p.written ? 1 : 0, b: 0, v: p.viaPrevious ? 1 : 0, e: p.earlierCopy || p.sentTo?.has(owner) === true ? 1 : 0,
      // This node's own messages come back to its reply address, which takes batches; others as their sender asked.
      ob: p.settle !== null || p.batchOutcomes ? 1 : 0,
    };
    p.hops++;
    const sent = () => (p.sentTo ??= new Set()).add(owner);
    this.counts.forwarded++;
    const forward = withTimeout(this.#o.transport.publish(nodeAddress(owner), JSON.stringify(wire)), this.#o.publishTimeoutMs, `publish to ${owner}`).then(
      (receivers) => {
        if (receivers > 0) {
          sent();
          return this.#handedOff(p);
        }
        if (!probe) p.failReason = 'unreachable'; // nobody listens there: certainly not received
        this.#hold(p);
      },
      (error: unknown) => {
        if (error instanceof RingError) {
          if (!probe) p.failReason = 'unreachable'; // refused before sending (a closed transport): certainly not received
        } else {
          sent();
          p.handedOff = true; // it may have gone out before the failure: an outcome may still come
          if (p.settle !== null) this.#local.set(`${p.id}\0${p.key}`, p);
        }
        this.#h.fail(error);
        this.#hold(p);
      },
    );
    const tracked = forward.finally(() => this.#forwards.delete(tracked));
    this.#forwards.add(tracked);
  }

  /** Another node has it now: it reports the outcome to `p.from`. */
  #handedOff(p: Parcel): void {
    p.handedOff = true;
    if (p.settle !== null) {
      this.#local.set(`${p.id}\0${p.key}`, p); // ours: wait for the outcome (or time out in the sweep)
      return;
    }
    p.done = true;
    this.#active.delete(p.dk ?? `${p.from}\0${p.id}\0${p.key}`);
  }

  /** The outcome of `p` if it ends now for `why`: `failed` only when it certainly never reached a socket. */
  #lastOutcome(p: Parcel, why: 'expired' | 'closed' | 'overloaded'): DeliveryOutcome {
    if (p.written || p.handedOff || p.earlierCopy) {
      const reason: UnknownReason = p.written ? (why === 'closed' ? 'closed-after-write' : 'expired-after-write') : p.handedOff ? 'no-outcome' : 'earlier-copy';
      return { status: 'unknown', key: p.key, reason };
    }
    return { status: 'failed', key: p.key, reason: why === 'expired' ? p.failReason : why };
  }

  #settle(p: Parcel, outcome: DeliveryOutcome): void {
    if (p.done) return;
    p.done = true;
    this.counts[outcome.status]++;
    if (this.#inflight.delete(p) && p.copies > 1) this.#dropCopies(p);
    if (p.settle !== null) {
      this.#pendingLocal--;
      if (p.handedOff) this.#local.delete(`${p.id}\0${p.key}`);
      p.settle(outcome);
      return;
    }
    const dk = p.dk ?? `${p.from}\0${p.id}\0${p.key}`;
    this.#active.delete(dk);
    this.#recent.set(dk, outcome, Date.now());
    if (!p.batchOutcomes) return this.#reportTo(p.from, p.id, outcome);
    const list = this.#outbox.get(p.from);
    if (list === undefined) this.#outbox.set(p.from, [{ id: p.id, outcome }]);
    else list.push({ id: p.id, outcome });
    if (!this.#outboxScheduled) {
      this.#outboxScheduled = true;
      setImmediate(() => this.#flushOutbox());
    }
  }

  #reportTo(address: string, id: string, outcome: DeliveryOutcome): void {
    const wire: OutcomeWire = { t: 'o', id, node: this.#o.id, outcome };
    this.#publishOutcomes(address, JSON.stringify(wire));
  }

  /** Sends the outcomes of this turn: one message per sender (a lone outcome as `o`, which every sender reads). */
  #flushOutbox(): void {
    this.#outboxScheduled = false;
    if (this.#outbox.size === 0) return;
    for (const [address, list] of this.#outbox) {
      if (list.length === 1) this.#reportTo(address, list[0]!.id, list[0]!.outcome);
      else this.#publishOutcomes(address, JSON.stringify({ t: 'os', node: this.#o.id, list } satisfies OutcomesWire));
    }
    this.#outbox.clear();
  }

  #publishOutcomes(address: string, text: string): void {
    withTimeout(this.#o.transport.publish(address, text), this.#o.publishTimeoutMs, `outcome to ${address}`).catch((error: unknown) => this.#h.fail(error));
  }

  /** Removes an acknowledged or timed-out parcel from the other sessions that hold a copy. */
  #dropCopies(p: Parcel): void {
    const entry = this.#h.table.get(p.key);
    if (entry === undefined) return;
    for (const session of entry.sessions) if (session.inflight?.get(p.id) === p) session.inflight.delete(p.id);
  }
}
