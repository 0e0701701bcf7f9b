import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import type { RingDiff, RingNode } from '../ring/types.js';
import { HashIndex } from './hash-index.js';
import { HoldQueue } from './hold-queue.js';
import { type HandoffStrategy, type ResolvedNodeOptions, type SessionNodeOptions, checkId, resolveNodeOptions, withTimeout } from './options.js';
import type { DeliveryOutcome, UnknownReason } from './outcome.js';
import { Pacer } from './pacer.js';
import { type Parcel, makeParcel } from './parcel.js';
import { CloseCode, MAX_MESSAGE_ID, type MoveTarget, PING_FRAME, closeReason, messageFrame, moveFrame, parseClientFrame, welcomeFrame } from './protocol.js';
import { RecentOutcomes } from './recent.js';
import { Session, type SessionHost } from './session.js';
import type { SessionSocket } from './socket.js';
import { BROADCAST_ADDRESS, type DeliverWire, type OutcomeWire, nodeAddress, parseWire, senderAddress } from './wire.js';

/** Events of a {@link SessionNode}. */
export interface SessionNodeEvents {
  /** A background failure: a publish that failed, a bad transport message, a listener that threw. The node goes on. */
  error: [error: Error];
}

/** Options of {@link SessionNode.deliver}. */
export interface DeliverOptions {
  /** Message id, unique per recipient across all senders; the client drops repeats of an id. @default a fresh id */
  readonly id?: string;
  /** Time to live. @default the node's `ttlMs` */
  readonly ttlMs?: number;
}

/** Counters and sizes, from {@link SessionNode.stats}. */
export interface SessionNodeStats {
  readonly id: string;
  /** Attached sessions. */
  readonly sessions: number;
  /** Distinct keys with a session. */
  readonly keys: number;
  /** Messages held, and their approximate bytes. */
  readonly held: number;
  readonly heldBytes: number;
  /** Messages written and not acknowledged yet. */
  readonly inFlight: number;
  /** Sessions waiting for their paced "moved" close. */
  readonly pendingCloses: number;
  /** Sessions closed because their key moved (or, under `reconnect-all`, because the ring changed). */
  readonly moved: number;
  /** Attaches refused because another node (or nobody) owns the key. */
  readonly refused: number;
  readonly slowConsumers: number;
  readonly timeouts: number;
  /** Deliveries handed to another node. */
  readonly forwarded: number;
  /** Final outcomes this node reported, by status. */
  readonly delivered: number;
  readonly failed: number;
  readonly unknown: number;
}

interface KeyEntry {
  readonly key: string;
  readonly hash: number;
  readonly sessions: Session[];
}

/**
 * The app-node side of routing: a table of the sessions this node holds,
 * by routing key, that only accepts keys this node owns, hands sessions
 * over (paced) when the ring moves their keys away, and delivers messages
 * with one honest outcome each (see docs/sessions.md).
 *
 * @example
 * ```ts
 * const node = await SessionNode.start({ id: 'node-a', router, transport });
 * wss.on('connection', (ws, req) => {
 *   const session = node.attach(userIdOf(req), ws); // null: refused, socket closed with 4002
 *   if (session === null) return;
 *   ws.on('message', (data) => session.receive(data));
 *   ws.on('close', () => session.detach());
 * });
 * await node.deliver('user:42', 'hello'); // { status: 'delivered', ... }
 * ```
 */
export class SessionNode extends EventEmitter<SessionNodeEvents> {
  readonly id: string;
  readonly #o: ResolvedNodeOptions;
  readonly #table = new Map<string, KeyEntry>();
  readonly #index = new HashIndex<KeyEntry>();
  readonly #held: HoldQueue;
  readonly #pacer: Pacer;
  readonly #recent: RecentOutcomes;
  /** Parcels written to sockets and not acknowledged. */
  readonly #inflight = new Set<Parcel>();
  /** Parcels started here (deliver()) and handed to another node, waiting for its outcome, by id + key. */
  readonly #local = new Map<string, Parcel>();
  /** Parcels started here and not settled yet (bounded by maxInFlight). */
  #pendingLocal = 0;
  /** Parcels of remote senders in progress here, by sender + id + key. */
  readonly #active = new Map<string, Parcel>();
  readonly #forwards = new Set<Promise<void>>();
  readonly #host: SessionHost;
  readonly #reply: string;
  readonly #onChange = (diff: RingDiff): void => this.#ringChanged(diff);
  readonly #unlisten: Array<() => Promise<void>> = [];
  readonly #idPrefix = `${Math.random().toString(36).slice(2, 10)}:`;
  #idCounter = 0;
  #sessions = 0;
  #strategy: HandoffStrategy;
  /** Date.now() as of the last timer tick: precise enough for keepalive, and free on the hot path. */
  #clock = Date.now();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  #closed = false;
  readonly #counts = { moved: 0, refused: 0, slowConsumers: 0, timeouts: 0, forwarded: 0, delivered: 0, failed: 0, unknown: 0 };

  private constructor(o: ResolvedNodeOptions) {
    super();
    this.id = o.id;
    this.#o = o;
    this.#strategy = o.strategy;
    this.#held = new HoldQueue(o.maxPerKey, o.maxHeldBytes);
    this.#recent = new RecentOutcomes(o.dedupeWindowMs, o.dedupeMax);
    this.#reply = senderAddress(`node:${o.id}`);
    this.#pacer = new Pacer(o.maxClosesPerSecond, o.jitter, (key) => this.#handOver(key), o.random);
    this.#host = { frame: (s, text) => this.#frame(s, text), detached: (s) => this.#detached(s) };
  }

  /**
   * Starts a node: listens on the transport at its own address, the
   * broadcast address and its reply address, and follows the router's changes.
   * @throws RingError `INVALID_OPTION` for a bad option.
   */
  static async start(options: SessionNodeOptions): Promise<SessionNode> {
    const node = new SessionNode(resolveNodeOptions(options));
    const { transport } = node.#o;
    const onError = (error: Error): void => node.#fail(error);
    try {
      node.#unlisten.push(await transport.listen(nodeAddress(node.id), (m) => node.#wire(m, false), onError));
      node.#unlisten.push(await transport.listen(BROADCAST_ADDRESS, (m) => node.#wire(m, true), onError));
      node.#unlisten.push(await transport.listen(node.#reply, (m) => node.#wire(m, false), onError));
    } catch (error) {
      await Promise.all(node.#unlisten.map((stop) => stop().catch(() => undefined)));
      throw error;
    }
    node.#o.router.on('change', node.#onChange);
    node.#sweepTimer = setInterval(() => node.#sweep(), node.#o.sweepMs);
    if (node.#o.pingIntervalMs > 0) node.#pingTimer = setInterval(() => node.#keepalive(), Math.min(node.#o.pingIntervalMs, node.#o.pongTimeoutMs));
    return node;
  }

  /** What the node does with its sessions on a ring change; can be switched at run time. */
  get strategy(): HandoffStrategy {
    return this.#strategy;
  }

  /** @throws RingError `INVALID_OPTION` for anything but 'selective' or 'reconnect-all'. */
  set strategy(strategy: HandoffStrategy) {
    if (strategy !== 'selective' && strategy !== 'reconnect-all') throw new RingError('INVALID_OPTION', `strategy must be 'selective' or 'reconnect-all', got ${describe(strategy)}`);
    this.#strategy = strategy;
  }

  /** Attached sessions. */
  get size(): number {
    return this.#sessions;
  }

  /**
   * Attaches an accepted connection under `key` (several per key are fine).
   * When this node does not own `key`, the socket gets a `move` frame and is
   * closed with 4002 (`WRONG_NODE`, the owner in the reason), or 4006
   * (`NO_OWNER`) on an empty ring, and `null` is returned. Authenticate the
   * connection before: the node trusts the key it is given.
   * @throws RingError `INVALID_OPTION` for a bad key or socket, `CLOSED` after close().
   */
  attach(key: string, socket: SessionSocket): Session | null {
    checkId(key, 'key');
    const s = socket as Partial<SessionSocket> | null;
    if (typeof s !== 'object' || s === null || typeof s.send !== 'function' || typeof s.close !== 'function') {
      throw new RingError('INVALID_OPTION', `attach() needs a socket with send(), close() and bufferedAmount, got ${describe(socket)}`);
    }
    if (this.#closing) throw new RingError('CLOSED', `SessionNode ${this.id} is closed`);
    const owner = this.#owner(key);
    if (owner === null || owner.id !== this.id) {
      this.#counts.refused++;
      const target = owner === null ? null : targetOf(owner);
      try {
        if (target !== null) socket.send(moveFrame(CloseCode.WRONG_NODE, target));
        socket.close(target === null ? CloseCode.NO_OWNER : CloseCode.WRONG_NODE, closeReason(target, target === null ? 'no owner' : 'wrong node'));
      } catch {
        // the socket is gone already
      }
      return null;
    }
    const session = new Session(key, socket, this.#host, Date.now());
    let entry = this.#table.get(key);
    if (entry === undefined) {
      entry = { key, hash: this.#o.router.ring.hasher.hash(key), sessions: [] };
      this.#table.set(key, entry);
      this.#index.add(entry);
    }
    entry.sessions.push(session);
    this.#sessions++;
    try {
      socket.send(welcomeFrame(this.id));
    } catch {
      session.detach();
      return session;
    }
    const held = this.#held.take(key);
    for (const p of held) this.#route(p);
    return session;
  }

  /**
   * Delivers `data` to `key`'s clients: here when they are connected here,
   * held when this node owns the key and they are not (yet) connected, or
   * forwarded to the owner. Resolves to the one outcome for this recipient;
   * never rejects for a delivery problem.
   * @throws RingError `INVALID_OPTION` for a bad key, data or option.
   */
  deliver(key: string, data: string, options: DeliverOptions = {}): Promise<DeliveryOutcome> {
    checkId(key, 'key');
    if (typeof data !== 'string') throw new RingError('INVALID_OPTION', `data must be a string, got ${describe(data)}`);
    const id = options.id ?? `${this.id}:${this.#idPrefix}${(this.#idCounter++).toString(36)}`;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_MESSAGE_ID) throw new RingError('INVALID_OPTION', `id must be a string of 1 to ${MAX_MESSAGE_ID} characters, got ${describe(id)}`);
    const ttlMs = options.ttlMs ?? this.#o.ttlMs;
    if (typeof ttlMs !== 'number' || !(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RingError('INVALID_OPTION', `ttlMs must be a positive number, got ${describe(ttlMs)}`);
    if (this.#closing) return Promise.resolve({ status: 'failed', key, reason: 'closed' });
    if (this.#pendingLocal >= this.#o.maxInFlight) return Promise.resolve({ status: 'failed', key, reason: 'overloaded' });
    this.#pendingLocal++;
    const now = Date.now();
    return new Promise((resolve) => this.#route(makeParcel(id, key, data, this.#reply, resolve, now + ttlMs, 0, false), true, now));
  }

  stats(): SessionNodeStats {
    return {
      id: this.id,
      sessions: this.#sessions,
      keys: this.#table.size,
      held: this.#held.size,
      heldBytes: this.#held.bytes,
      inFlight: this.#inflight.size,
      pendingCloses: this.#pacer.size,
      ...this.#counts,
    };
  }

  /** The keys of this node's sessions whose hash lies in `diff`'s moved ranges (what a ring change hands over). */
  movedKeys(diff: RingDiff): string[] {
    return this.#index.inRanges(diff.ranges).map((e) => e.key);
  }

  /**
   * Closes every session with 4005 (`SHUTDOWN`, naming the key's owner when it
   * is another node), hands held and unacknowledged messages to their owners,
   * waits for those forwards, then reports what is left (`failed: closed`, or
   * `unknown` when it was written), and stops listening. For zero loss, leave
   * the membership and wait until the ring no longer has this node first.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#o.router.off('change', this.#onChange);
    this.#pacer.stop();
    clearInterval(this.#sweepTimer);
    clearInterval(this.#pingTimer);
    for (const entry of [...this.#table.values()]) {
      const owner = this.#owner(entry.key);
      const target = owner !== null && owner.id !== this.id ? targetOf(owner) : null;
      for (const session of [...entry.sessions]) {
        if (target !== null) this.#send(session, moveFrame(CloseCode.SHUTDOWN, target));
        session.close(CloseCode.SHUTDOWN, closeReason(target, 'shutdown'));
      }
    }
    for (const key of this.#held.keys()) for (const p of this.#held.take(key)) this.#route(p);
    while (this.#forwards.size > 0) await Promise.all([...this.#forwards]);
    this.#closed = true;
    for (const key of this.#held.keys()) for (const p of this.#held.take(key)) this.#settle(p, this.#lastOutcome(p, 'closed'));
    for (const p of [...this.#local.values()]) this.#settle(p, this.#lastOutcome(p, 'closed'));
    for (const p of [...this.#active.values()]) this.#settle(p, this.#lastOutcome(p, 'closed'));
    await Promise.all(this.#unlisten.map((stop) => stop().catch((error: unknown) => this.#fail(error))));
    this.removeAllListeners();
  }

  // --- routing -------------------------------------------------------------

  /** Writes here, holds (owner, or hop limit reached), or forwards to the owner. */
  #route(p: Parcel, initial = false, now = Date.now()): void {
    if (p.done) return;
    if (now >= p.deadline) return this.#settle(p, this.#lastOutcome(p, 'expired'));
    const entry = this.#table.get(p.key);
    if (entry !== undefined) {
      const written = this.#write(p, entry, now);
      if (written === 'written') return;
      if (written === 'overloaded') return this.#settle(p, this.#lastOutcome(p, 'overloaded'));
    }
    const owner = this.#owner(p.key);
    if (owner === null) {
      if (initial) return this.#settle(p, { status: 'failed', key: p.key, reason: 'no-owner' });
      return this.#hold(p); // the ring is empty for now: wait for a node, until the deadline
    }
    if (this.#closed) return this.#settle(p, this.#lastOutcome(p, 'closed'));
    if (owner.id === this.id || p.hops >= this.#o.maxHops) return this.#hold(p);
    this.#forward(p, owner.id);
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
    if (slow !== undefined) {
      for (const session of slow) {
        this.#counts.slowConsumers++;
        session.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      }
    }
    return copies > 0 ? 'written' : 'none';
  }

  #hold(p: Parcel): void {
    if (this.#held.add(p)) return;
    this.#settle(p, p.written || p.handedOff ? { status: 'unknown', key: p.key, reason: 'expired-after-write' } : { status: 'failed', key: p.key, reason: 'hold-full' });
  }

  #forward(p: Parcel, owner: string): void {
    const wire: DeliverWire = {
      t: 'd', id: p.id, from: p.from, keys: [p.key], data: p.data, hops: p.hops + 1, ttl: Math.max(0, p.deadline - Date.now()), w: p.written ? 1 : 0, b: 0,
    };
    p.hops++;
    this.#counts.forwarded++;
    const forward = withTimeout(this.#o.transport.publish(nodeAddress(owner), JSON.stringify(wire)), this.#o.publishTimeoutMs, `publish to ${owner}`).then(
      (receivers) => {
        if (receivers > 0) return this.#handedOff(p);
        p.failReason = 'unreachable'; // nobody listens there: certainly not received
        this.#hold(p);
      },
      (error: unknown) => {
        p.handedOff = true; // it may have gone out before the failure: an outcome may still come
        if (p.settle !== null) this.#local.set(`${p.id}\0${p.key}`, p);
        this.#fail(error);
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
    this.#active.delete(`${p.from}\0${p.id}\0${p.key}`);
  }

  /** The outcome of `p` if it ends now for `why`: `failed` only when it certainly never reached a socket. */
  #lastOutcome(p: Parcel, why: 'expired' | 'closed' | 'overloaded'): DeliveryOutcome {
    if (p.written || p.handedOff) {
      const reason: UnknownReason = p.written ? (why === 'closed' ? 'closed-after-write' : 'expired-after-write') : 'no-outcome';
      return { status: 'unknown', key: p.key, reason };
    }
    return { status: 'failed', key: p.key, reason: why === 'expired' ? p.failReason : why };
  }

  #settle(p: Parcel, outcome: DeliveryOutcome): void {
    if (p.done) return;
    p.done = true;
    this.#counts[outcome.status]++;
    if (this.#inflight.delete(p) && p.copies > 1) this.#dropCopies(p);
    if (p.settle !== null) {
      this.#pendingLocal--;
      if (p.handedOff) this.#local.delete(`${p.id}\0${p.key}`);
      p.settle(outcome);
      return;
    }
    const dk = `${p.from}\0${p.id}\0${p.key}`;
    this.#active.delete(dk);
    this.#recent.set(dk, outcome, Date.now());
    this.#reportTo(p.from, p.id, outcome);
  }

  #reportTo(address: string, id: string, outcome: DeliveryOutcome): void {
    const wire: OutcomeWire = { t: 'o', id, node: this.id, outcome };
    withTimeout(this.#o.transport.publish(address, JSON.stringify(wire)), this.#o.publishTimeoutMs, `outcome to ${address}`).catch((error: unknown) => this.#fail(error));
  }

  /** Removes an acknowledged or timed-out parcel from the other sessions that hold a copy. */
  #dropCopies(p: Parcel): void {
    const entry = this.#table.get(p.key);
    if (entry === undefined) return;
    for (const session of entry.sessions) if (session.inflight?.get(p.id) === p) session.inflight.delete(p.id);
  }

  // --- transport -----------------------------------------------------------

  #wire(text: string, broadcast: boolean): void {
    if (this.#closed) return;
    const wire = parseWire(text);
    if (wire === null) return this.#fail(new RingError('INVALID_SNAPSHOT', `ignored a malformed transport message (${text.length} characters)`));
    if (wire.t === 'o') {
      const p = this.#local.get(`${wire.id}\0${wire.outcome.key}`);
      if (p !== undefined) this.#settle(p, wire.outcome);
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
      if (broadcast && !this.#table.has(key) && this.#owner(key)?.id !== this.id) continue; // another node's recipient
      const p = makeParcel(wire.id, key, wire.data, wire.from, null, now + wire.ttl, wire.hops, wire.w === 1);
      this.#active.set(dk, p);
      this.#route(p);
    }
  }

  // --- sessions ------------------------------------------------------------

  #frame(session: Session, text: string): void {
    session.lastSeen = this.#clock; // coarse: keepalive works in seconds
    session.pingSentAt = 0;
    const frame = parseClientFrame(text);
    if (frame === null) return session.close(CloseCode.PROTOCOL_ERROR, 'bad frame');
    if (frame.t !== 'ack') return;
    const p = session.inflight?.get(frame.id);
    if (p === undefined) return; // a repeated ack
    session.inflight!.delete(frame.id);
    this.#settle(p, { status: 'delivered', key: p.key, node: this.id });
  }

  #detached(session: Session): void {
    const entry = this.#table.get(session.key);
    const i = entry?.sessions.indexOf(session) ?? -1;
    if (entry !== undefined && i >= 0) {
      entry.sessions.splice(i, 1);
      this.#sessions--;
      if (entry.sessions.length === 0) {
        this.#table.delete(entry.key);
        this.#index.remove(entry);
      }
    }
    const inflight = session.inflight;
    if (inflight === undefined) return;
    session.inflight = undefined;
    for (const p of inflight.values()) {
      if (p.done || --p.copies > 0) continue;
      this.#inflight.delete(p);
      this.#route(p); // written once: it can no longer fail, only arrive or become unknown
    }
  }

  #send(session: Session, frame: string): void {
    try {
      session.socket.send(frame);
    } catch {
      // closing anyway
    }
  }

  // --- ring changes ----------------------------------------------------------

  #ringChanged(diff: RingDiff): void {
    if (this.#closing || diff.ranges.length === 0) return;
    const entries = this.#strategy === 'selective' ? this.#index.inRanges(diff.ranges) : this.#index.all();
    for (const entry of entries) this.#pacer.add(entry.key);
    this.#sweepHeld(Date.now()); // held messages of keys that moved away follow them now
  }

  /** A paced close: the key's sessions go to its owner now (unless the key came back here meanwhile). */
  #handOver(key: string): void {
    const entry = this.#table.get(key);
    if (entry === undefined) return;
    const owner = this.#owner(key);
    if (this.#strategy === 'selective' && owner?.id === this.id) return;
    const target = owner === null ? null : targetOf(owner);
    for (const session of [...entry.sessions]) {
      this.#counts.moved++;
      if (target !== null) this.#send(session, moveFrame(CloseCode.MOVED, target));
      session.close(target === null ? CloseCode.NO_OWNER : CloseCode.MOVED, closeReason(target, 'moved'));
    }
  }

  // --- timers ----------------------------------------------------------------

  #sweep(): void {
    const now = (this.#clock = Date.now());
    this.#sweepHeld(now);
    for (const p of this.#inflight) {
      if (p.ackBy > now) continue;
      this.#settle(p, { status: 'unknown', key: p.key, reason: 'ack-timeout' });
    }
    // Ours, handed to another node, never answered (the outcome can be lost on the way).
    const late = now - 2 * this.#o.publishTimeoutMs;
    for (const p of this.#local.values()) {
      if (p.handedOff && p.deadline < late && !this.#inflight.has(p)) this.#settle(p, { status: 'unknown', key: p.key, reason: 'no-outcome' });
    }
    this.#recent.prune(now);
  }

  /** Expires held messages and sends on those that can go somewhere now (a session here, or another owner). */
  #sweepHeld(now: number): void {
    for (const key of this.#held.keys()) {
      const owner = this.#owner(key);
      const movable = this.#table.has(key) || (owner !== null && owner.id !== this.id);
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

  #keepalive(): void {
    const now = (this.#clock = Date.now());
    const { pingIntervalMs, pongTimeoutMs } = this.#o;
    for (const entry of [...this.#table.values()]) {
      for (const session of [...entry.sessions]) {
        if (session.pingSentAt > 0 && now - session.pingSentAt >= pongTimeoutMs) {
          this.#counts.timeouts++;
          session.close(CloseCode.TIMEOUT, 'keepalive timeout');
        } else if (session.pingSentAt === 0 && now - session.lastSeen >= pingIntervalMs) {
          session.pingSentAt = now;
          this.#send(session, PING_FRAME);
        }
      }
    }
  }

  #owner(key: string): RingNode | null {
    if (this.#o.router.ring.size === 0) return null;
    try {
      return this.#o.router.lookup(key);
    } catch {
      return null;
    }
  }

  #fail(error: unknown): void {
    if (this.listenerCount('error') === 0) return; // nobody listens: an EventEmitter3 'error' without listeners is dropped anyway
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

function targetOf(node: RingNode): MoveTarget {
  return { node: node.id, url: node.meta?.url ?? '' };
}
