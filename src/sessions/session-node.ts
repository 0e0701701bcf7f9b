import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import type { Membership } from '../live/contracts.js';
import { log } from '../live/logger.js';
import type { RingDiff, RingNode } from '../ring/types.js';
import { Courier } from './courier.js';
import { Fence, type FenceReport, type LeaseOptions } from './fence.js';
import { type HandoffStrategy, type ResolvedNodeOptions, type SessionNodeOptions, checkId, resolveNodeOptions, withTimeout } from './options.js';
import type { DeliveryOutcome } from './outcome.js';
import { Pacer } from './pacer.js';
import { CloseCode, MAX_MESSAGE_ID, type MoveTarget, PING_FRAME, closeReason, moveFrame, parseClientFrame, welcomeFrame } from './protocol.js';
import { Session, type SessionHost } from './session.js';
import { SessionTable } from './session-table.js';
import type { SessionSocket } from './socket.js';
import { BROADCAST_ADDRESS, nodeAddress, parseWire } from './wire.js';

/** Events of a {@link SessionNode}. */
export interface SessionNodeEvents {
  /** A background failure: a publish that failed, a bad transport message, a listener that threw. The node goes on. */
  error: [error: Error];
  /** The paced closes that ring changes queued are all done (changes that come during a handoff extend it). */
  handoff: [report: HandoffReport];
  /** The membership lease ran out (less its margin): the node stopped acting as an owner (see {@link SessionNode.followLease}). */
  fence: [report: FenceReport];
  /** The lease is back and the ring was read again: the node acts as an owner again. */
  unfence: [report: FenceReport];
}

/** What one handoff did, from {@link SessionNodeEvents.handoff}. */
export interface HandoffReport {
  /** Keys queued for a paced close. */
  readonly keys: number;
  /** Sessions closed with 4001 (`MOVED`) or 4006: handed to their new owner. */
  readonly sessions: number;
  /** From the first ring change to the last close, in ms. */
  readonly durationMs: number;
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
  /** Fenced now: the lease followed by {@link SessionNode.followLease} ran out and has not come back. */
  readonly fenced: boolean;
  /** Times the node fenced itself, the ms it spent fenced in all, and sessions a fence closed (4006). */
  readonly fences: number;
  readonly fencedMs: number;
  readonly fencedCloses: number;
  /** Deliveries handed to another node. */
  readonly forwarded: number;
  /** Final outcomes this node reported, by status. */
  readonly delivered: number;
  readonly failed: number;
  readonly unknown: number;
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
  readonly #table = new SessionTable();
  readonly #courier: Courier;
  readonly #pacer: Pacer;
  readonly #host: SessionHost;
  readonly #onChange = (diff: RingDiff): void => this.#ringChanged(diff);
  readonly #unlisten: Array<() => Promise<void>> = [];
  readonly #idPrefix = `${Math.random().toString(36).slice(2, 10)}:`;
  #idCounter = 0;
  #strategy: HandoffStrategy;
  /** Date.now() as of the last timer tick: precise enough for keepalive, and free on the hot path. */
  #clock = Date.now();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  /** The latest ring change and when it came: which node a key just moved here from. */
  #lastChange: { readonly diff: RingDiff; readonly at: number } | null = null;
  readonly #counts = { moved: 0, refused: 0, slowConsumers: 0, timeouts: 0 };
  /** The handoff in progress: since when, keys queued, sessions closed so far. */
  #handoff: { start: number; keys: number; sessions: number } | null = null;
  #fence: Fence | null = null;
  #fenceTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(o: ResolvedNodeOptions) {
    super();
    this.id = o.id;
    this.#o = o;
    this.#strategy = o.strategy;
    this.#courier = new Courier(o.id, {
      options: o,
      table: this.#table,
      owner: (key) => this.#owner(key),
      previousOwner: (key) => this.#previousOwner(key),
      fenced: () => this.fenced,
      slowConsumer: (session) => {
        this.#counts.slowConsumers++;
        session.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      },
      fail: (error) => this.#fail(error),
    });
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
      node.#unlisten.push(await transport.listen(node.#courier.reply, (m) => node.#wire(m, false), onError));
    } catch (error) {
      await Promise.all(node.#unlisten.map((stop) => stop().catch(() => undefined)));
      throw error;
    }
    node.#o.router.on('change', node.#onChange);
    node.#sweepTimer = setInterval(() => node.#courier.sweep((node.#clock = Date.now())), node.#o.sweepMs);
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

  /** Pace of the closes a ring change causes (the `maxClosesPerSecond` option, or what was set since). */
  get maxClosesPerSecond(): number {
    return this.#pacer.rate;
  }

  /**
   * Changes the pace of the closes a ring change causes, from the next batch
   * on, e.g. to what the cluster measured it can reconnect a second, so a
   * handoff never outruns the gateways and nodes taking the users back.
   * @throws RingError `INVALID_OPTION` for anything but a positive finite number; the pace is unchanged.
   */
  set maxClosesPerSecond(perSecond: number) {
    if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0) {
      throw new RingError('INVALID_OPTION', `maxClosesPerSecond must be a positive number, got ${describe(perSecond)}`);
    }
    this.#pacer.rate = perSecond;
  }

  /**
   * Self-fencing: from now on the node acts as an owner only while
   * `membership`'s lease holds (the handle `join()` returned; see
   * `MembershipLease`). From `marginMs` before the lease runs out, and until
   * a confirmed heartbeat gives it back, the node is fenced: it refuses
   * attaches (4006, `fenced`), writes and forwards no message (deliveries
   * are held, and fail as `fenced` if their ttl runs out first), and emits
   * `fence`. Its sessions stay open, idle, so an outage of the store for
   * everyone moves nobody; after `closeAfterMs` fenced it closes them (4006)
   * so users cut off with it reconnect to the keys' new owners. When the
   * lease is back it reads the ring (what moved meanwhile is handed over as
   * on any change), unfences, emits `unfence` and delivers what it held.
   * Call it again for a new membership (after a re-join): it replaces the
   * previous one.
   * @throws RingError `INVALID_OPTION` for a membership without a lease or a bad option, `CLOSED` after close().
   */
  followLease(membership: Membership, options: LeaseOptions = {}): void {
    if (this.#closing) throw new RingError('CLOSED', `SessionNode ${this.id} is closed`);
    const fence = new Fence(membership, options, {
      fenced: (report) => {
        log(this.#o.logger, {
          level: 'warn', source: 'session-node', event: 'fence',
          message: `${this.id}: membership lease ran out (no heartbeat confirmed in time): fenced, accepting and delivering nothing until it is back`,
          fields: { node: this.id, sessions: this.#table.sessions },
        });
        this.emit('fence', report);
      },
      closeAll: () => this.#closeFenced(),
      catchUp: () => (this.#o.router.resync === undefined ? Promise.resolve() : withTimeout(this.#o.router.resync(), this.#o.publishTimeoutMs, 'ring read after the lease came back')),
      unfenced: (report) => {
        log(this.#o.logger, {
          level: 'info', source: 'session-node', event: 'unfence',
          message: `${this.id}: membership lease back after ${report.fencedMs} ms fenced (${report.sessionsClosed} sessions closed); ring read, acting as owner again`,
          fields: { node: this.id, fencedMs: report.fencedMs, sessionsClosed: report.sessionsClosed },
        });
        this.emit('unfence', report);
        this.#courier.sweepHeld(Date.now());
      },
      fail: (error) => this.#fail(error),
    });
    this.#fence?.stop();
    clearInterval(this.#fenceTimer);
    this.#fence = fence;
    this.#fenceTimer = setInterval(() => fence.check(), fence.checkEveryMs);
    this.#fenceTimer.unref?.();
    fence.check();
  }

  /** Fenced now (see {@link followLease}). */
  get fenced(): boolean {
    return this.#fence !== null && this.#fence.fencedNow();
  }

  /** Attached sessions. */
  get size(): number {
    return this.#table.sessions;
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
    if (this.fenced) {
      this.#counts.refused++;
      try {
        socket.close(CloseCode.NO_OWNER, 'fenced');
      } catch {
        // the socket is gone already
      }
      return null;
    }
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
    this.#table.add(session, (k) => this.#o.router.ring.hasher.hash(k));
    try {
      socket.send(welcomeFrame(this.id));
    } catch {
      session.detach();
      return session;
    }
    this.#courier.attached(key);
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
    return this.#courier.deliver(id, key, data, ttlMs);
  }

  stats(): SessionNodeStats {
    return {
      id: this.id,
      sessions: this.#table.sessions,
      keys: this.#table.keys,
      held: this.#courier.held,
      heldBytes: this.#courier.heldBytes,
      inFlight: this.#courier.inFlight,
      pendingCloses: this.#pacer.size,
      fenced: this.fenced,
      ...(this.#fence?.counts ?? { fences: 0, fencedMs: 0, fencedCloses: 0 }),
      ...this.#counts,
      ...this.#courier.counts,
    };
  }

  /** The keys of this node's sessions whose hash lies in `diff`'s moved ranges (what a ring change hands over). */
  movedKeys(diff: RingDiff): string[] {
    return this.#table.inRanges(diff.ranges, (key) => diff.owner(key) !== undefined).map((e) => e.key);
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
    this.#fence?.stop();
    clearInterval(this.#fenceTimer);
    clearInterval(this.#sweepTimer);
    clearInterval(this.#pingTimer);
    for (const entry of this.#table.all()) {
      const owner = this.#owner(entry.key);
      const target = owner !== null && owner.id !== this.id ? targetOf(owner) : null;
      for (const session of [...entry.sessions]) {
        if (target !== null) send(session, moveFrame(CloseCode.SHUTDOWN, target));
        session.close(CloseCode.SHUTDOWN, closeReason(target, 'shutdown'));
      }
    }
    await this.#courier.drain();
    this.#courier.close();
    await Promise.all(this.#unlisten.map((stop) => stop().catch((error: unknown) => this.#fail(error))));
    this.removeAllListeners();
  }

  #wire(text: string, broadcast: boolean): void {
    const wire = parseWire(text);
    if (wire === null) return this.#fail(new RingError('INVALID_SNAPSHOT', `ignored a malformed transport message (${text.length} characters)`));
    this.#courier.receive(wire, broadcast);
  }

  #frame(session: Session, text: string): void {
    session.lastSeen = this.#clock; // coarse: keepalive works in seconds
    session.pingSentAt = 0;
    const frame = parseClientFrame(text);
    if (frame === null) return session.close(CloseCode.PROTOCOL_ERROR, 'bad frame');
    if (frame.t === 'ack') this.#courier.acked(session, frame.id);
  }

  #detached(session: Session): void {
    this.#table.remove(session);
    this.#courier.detached(session);
  }

  #ringChanged(diff: RingDiff): void {
    if (this.#closing || diff.ranges.length === 0) return;
    this.#lastChange = { diff, at: Date.now() };
    const entries = this.#strategy === 'selective' ? this.#table.inRanges(diff.ranges, (key) => diff.owner(key) !== undefined) : this.#table.all();
    for (const entry of entries) this.#pacer.add(entry.key);
    if (entries.length > 0) {
      this.#handoff ??= { start: Date.now(), keys: 0, sessions: 0 };
      this.#handoff.keys += entries.length;
      log(this.#o.logger, {
        level: 'info', source: 'session-node', event: 'handoff',
        message: `${this.id}: ring change moves ${entries.length} keys (${this.#strategy}); closing them at ${this.#pacer.rate}/s, about ${Math.ceil((this.#pacer.size / this.#pacer.rate) * 1000)} ms`,
        fields: { node: this.id, keys: entries.length, queued: this.#pacer.size, perSecond: this.#pacer.rate, strategy: this.#strategy },
      });
    }
    this.#courier.sweepHeld(Date.now()); // held messages of keys that moved away follow them now
  }

  /** A paced close: the key's sessions go to its owner now (unless the key came back here meanwhile). */
  #handOver(key: string): void {
    this.#closeMoved(key);
    const h = this.#handoff;
    if (h === null || this.#pacer.size > 0) return;
    this.#handoff = null;
    const report: HandoffReport = { keys: h.keys, sessions: h.sessions, durationMs: Date.now() - h.start };
    log(this.#o.logger, { level: 'info', source: 'session-node', event: 'handoff-done', message: `${this.id}: handoff done, ${report.sessions} sessions of ${report.keys} keys moved in ${report.durationMs} ms`, fields: { node: this.id, ...report } });
    this.emit('handoff', report);
  }

  #closeMoved(key: string): void {
    const entry = this.#table.get(key);
    if (entry === undefined) return;
    const owner = this.#owner(key);
    if (this.#strategy === 'selective' && owner?.id === this.id) return;
    const target = owner === null ? null : targetOf(owner);
    for (const session of [...entry.sessions]) {
      this.#counts.moved++;
      if (this.#handoff !== null) this.#handoff.sessions++;
      if (target !== null) send(session, moveFrame(CloseCode.MOVED, target));
      session.close(target === null ? CloseCode.NO_OWNER : CloseCode.MOVED, closeReason(target, 'moved'));
    }
  }

  /** A fence that lasted `closeAfterMs`: every session goes (4006), its users reconnect through a gateway. */
  #closeFenced(): number {
    let closed = 0;
    for (const entry of this.#table.all()) {
      for (const session of [...entry.sessions]) {
        closed++;
        session.close(CloseCode.NO_OWNER, 'fenced');
      }
    }
    log(this.#o.logger, {
      level: 'warn', source: 'session-node', event: 'fence-close',
      message: `${this.id}: fenced too long, closed ${closed} sessions (4006) so their users reconnect to the keys' owners`,
      fields: { node: this.id, sessions: closed },
    });
    return closed;
  }

  #keepalive(): void {
    const now = (this.#clock = Date.now());
    const { pingIntervalMs, pongTimeoutMs } = this.#o;
    for (const entry of this.#table.all()) {
      for (const session of [...entry.sessions]) {
        if (session.pingSentAt > 0 && now - session.pingSentAt >= pongTimeoutMs) {
          this.#counts.timeouts++;
          session.close(CloseCode.TIMEOUT, 'keepalive timeout');
        } else if (session.pingSentAt === 0 && now - session.lastSeen >= pingIntervalMs) {
          session.pingSentAt = now;
          send(session, PING_FRAME);
        }
      }
    }
  }

  #previousOwner(key: string): string | null {
    const change = this.#lastChange;
    if (change === null || Date.now() - change.at > this.#o.handoffWindowMs) return null;
    const move = change.diff.owner(key);
    return move !== undefined && move.to === this.id && move.from !== null && move.from !== this.id ? move.from : null;
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

function send(session: Session, frame: string): void {
  try {
    session.socket.send(frame);
  } catch {
    // closing anyway
  }
}
