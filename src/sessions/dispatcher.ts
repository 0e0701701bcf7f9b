import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import { type Logger, badLogger, log } from '../live/logger.js';
import type { Transport } from '../live/transport.js';
import { groupByOwner } from '../ring/group-by-owner.js';
import type { RingDiff } from '../ring/types.js';
import { type RouterLike, checkId, checkRouter, checkTransport, count, positive, withTimeout } from './options.js';
import type { DeliveryOutcome, FailReason } from './outcome.js';
import { MAX_MESSAGE_ID } from './protocol.js';
import { RecentOutcomes } from './recent.js';
import { BROADCAST_ADDRESS, type DeliverWire, nodeAddress, parseWire, senderAddress } from './wire.js';

/** How a {@link Dispatcher} reaches the nodes. */
export type DispatchMode = 'hash' | 'broadcast';

/** Options of {@link Dispatcher.start}. */
export interface DispatcherOptions {
  /** This sender's id, unique in the cluster (outcomes come back to `sender:<id>`). */
  readonly id: string;
  /** The sender's view of the ring (a `RingRouter`). Never closed by the dispatcher. */
  readonly router: RouterLike;
  /** Never closed by the dispatcher. */
  readonly transport: Transport;
  /** `hash`: one publication per distinct owner; `broadcast`: one to every node (the baseline). @default 'hash' */
  readonly mode?: DispatchMode;
  /** Time to live of a message. @default 10000 */
  readonly ttlMs?: number;
  /** No outcome this long after a publication that reached a node: publish again to the current owner (nodes drop the repeat). @default 2000 */
  readonly retryMs?: number;
  /** Recipients in flight (message x recipient); past it `send` throws `OVERLOADED`. @default 10000 */
  readonly maxInFlight?: number;
  /** Publishes that take longer count as "maybe sent". @default 2000 */
  readonly publishTimeoutMs?: number;
  /**
   * The nodes' `ackTimeoutMs`. In `broadcast`, a node's `failed` (it owns the
   * user and held the message to its deadline) is final only this long after
   * the deadline: another node may have had the user's session (a paced
   * move, a reconnect) and written the message, and its answer comes once
   * the client acknowledges it or its ack times out. @default 10000
   */
  readonly ackTimeoutMs?: number;
  /** How long a finished (id, recipient) is remembered, so sending it again returns the same outcome. @default 60000 */
  readonly dedupeWindowMs?: number;
  /** Most finished outcomes remembered (the oldest are forgotten first). @default 100000 */
  readonly dedupeMax?: number;
  /** Traces outcomes other than `delivered` (debug, one per recipient). @default none */
  readonly logger?: Logger;
}

/** Options of one send. */
export interface SendOptions {
  /** Message id: sending the same id to the same recipient again is idempotent. Unique per recipient across senders. @default a fresh id */
  readonly id?: string;
  /** @default the dispatcher's `ttlMs` */
  readonly ttlMs?: number;
}

/** Events of a {@link Dispatcher}. */
export interface DispatcherEvents {
  /** A background failure (publish, malformed outcome); the dispatcher goes on. */
  error: [error: Error];
  /** A recipient's final outcome, and the ms from its send to it (not emitted for a repeat answered from memory). */
  outcome: [outcome: DeliveryOutcome, latencyMs: number];
}

interface Pending {
  /** Its key in the pending and recent tables: `id \0 key`, built once. */
  readonly pk: string;
  readonly id: string;
  readonly key: string;
  readonly data: string;
  readonly deadline: number;
  /** When send() took it (Date.now()). */
  readonly sentAt: number;
  /** Nodes that may have received it; and those of them that answered `failed`. */
  readonly reached: Set<string>;
  /** Created on the first `failed` answer (most recipients never get one). */
  refused: Set<string> | undefined;
  lastFail: FailReason;
  retryAt: number;
  /**
   * Publications of it not settled yet. While one is, a node it reaches is
   * not in `reached` yet: a `failed` answer from another node must not end
   * it then (the copy under way may still be delivered).
   */
  publishing: number;
  readonly promise: Promise<DeliveryOutcome>;
  resolve: (outcome: DeliveryOutcome) => void;
}

const TICK_MS = 50;
/** After a publication that reached nobody, try again this soon (the ring is probably changing). */
const NOBODY_RETRY_MS = 100;

/**
 * The sending side, for gateways and back ends: publishes messages to the
 * nodes that own their recipients and resolves to one outcome per
 * recipient. In `hash` mode a group message costs one publication per
 * distinct owner (`groupByOwner`); `broadcast` sends every message to every
 * node (the baseline). Retries go to the current owner, so a message sent
 * during a ring change still arrives; nodes and clients drop repeats by id.
 *
 * @example
 * ```ts
 * const dispatcher = await Dispatcher.start({ id: 'gw-1', router, transport });
 * const outcome = await dispatcher.send('user:42', 'hello', { id: 'msg-1' });
 * const outcomes = await dispatcher.sendGroup(['user:1', 'user:2'], 'hi all');
 * ```
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly id: string;
  readonly #router: RouterLike;
  readonly #transport: Transport;
  readonly #mode: DispatchMode;
  readonly #logger: Logger | undefined;
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #maxInFlight: number;
  readonly #publishTimeoutMs: number;
  readonly #ackTimeoutMs: number;
  readonly #address: string;
  readonly #pending = new Map<string, Pending>();
  readonly #recent: RecentOutcomes;
  readonly #idPrefix = `${Math.random().toString(36).slice(2, 10)}:`;
  readonly #onChange = (diff: RingDiff): void => this.#ringChanged(diff);
  #counter = 0;
  #publications = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #closed = false;

  private constructor(options: DispatcherOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `Dispatcher.start() needs { id, router, transport }, got ${describe(options)}`);
    checkId(options.id, 'id');
    checkRouter(options.router);
    checkTransport(options.transport);
    const mode = options.mode ?? 'hash';
    if (mode !== 'hash' && mode !== 'broadcast') throw new RingError('INVALID_OPTION', `mode must be 'hash' or 'broadcast', got ${describe(mode)}`);
    this.id = options.id;
    this.#router = options.router;
    this.#transport = options.transport;
    this.#mode = mode;
    const loggerProblem = badLogger(options.logger);
    if (loggerProblem !== undefined) throw new RingError('INVALID_OPTION', loggerProblem);
    this.#logger = options.logger;
    this.#ttlMs = positive(options.ttlMs, 10_000, 'ttlMs');
    this.#retryMs = positive(options.retryMs, 2000, 'retryMs');
    this.#maxInFlight = count(options.maxInFlight, 10_000, 'maxInFlight');
    this.#publishTimeoutMs = positive(options.publishTimeoutMs, 2000, 'publishTimeoutMs');
    this.#ackTimeoutMs = positive(options.ackTimeoutMs, 10_000, 'ackTimeoutMs');
    this.#recent = new RecentOutcomes(positive(options.dedupeWindowMs, 60_000, 'dedupeWindowMs'), count(options.dedupeMax, 100_000, 'dedupeMax'));
    this.#address = senderAddress(options.id);
  }

  /** Starts listening for outcomes at `sender:<id>`. @throws RingError `INVALID_OPTION` for a bad option. */
  static async start(options: DispatcherOptions): Promise<Dispatcher> {
    const dispatcher = new Dispatcher(options);
    dispatcher.#unlisten = await dispatcher.#transport.listen(dispatcher.#address, (m) => dispatcher.#onWire(m), (e) => dispatcher.#fail(e));
    dispatcher.#router.on('change', dispatcher.#onChange);
    dispatcher.#timer = setInterval(() => dispatcher.#tick(), TICK_MS);
    return dispatcher;
  }

  get mode(): DispatchMode {
    return this.#mode;
  }

  /** Recipients waiting for an outcome. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Publications made so far (one per owner per attempt in `hash` mode, one per attempt in `broadcast`). */
  get publications(): number {
    return this.#publications;
  }

  /**
   * Sends `data` to `to`; resolves to its one outcome, never rejects for a
   * delivery problem (an empty ring gives `failed: no-owner` at once).
   * @throws RingError `INVALID_OPTION` for bad input, `OVERLOADED` when `maxInFlight` recipients are in flight, `CLOSED` after close().
   */
  send(to: string, data: string, options: SendOptions = {}): Promise<DeliveryOutcome> {
    return this.sendGroup([to], data, options).then((outcomes) => outcomes[0]!);
  }

  /**
   * Sends one message to every distinct member; resolves to one outcome per
   * distinct member, in first-seen order.
   * @throws RingError as {@link Dispatcher.send}; nothing is sent when it throws.
   */
  sendGroup(members: readonly string[], data: string, options: SendOptions = {}): Promise<DeliveryOutcome[]> {
    if (this.#closed) throw new RingError('CLOSED', `Dispatcher ${this.id} is closed`);
    if (!Array.isArray(members)) throw new RingError('INVALID_OPTION', `members must be an array of keys, got ${describe(members)}`);
    const keys = [...new Set(members)];
    for (const key of keys) checkId(key, 'recipient key');
    if (typeof data !== 'string') throw new RingError('INVALID_OPTION', `data must be a string, got ${describe(data)}`);
    const id = options.id ?? `${this.id}:${this.#idPrefix}${(this.#counter++).toString(36)}`;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_MESSAGE_ID) throw new RingError('INVALID_OPTION', `id must be a string of 1 to ${MAX_MESSAGE_ID} characters, got ${describe(id)}`);
    const ttlMs = positive(options.ttlMs, this.#ttlMs, 'ttlMs');
    const now = Date.now();
    // One pass: each key's pending/recent key is built once (a hot path: one string per recipient).
    const pks = keys.map((key) => `${id}\0${key}`);
    let fresh = keys.length;
    // Counted exactly only near the bound: repeats of what is pending or finished take no room.
    if (this.#pending.size + fresh > this.#maxInFlight) for (const pk of pks) if (this.#pending.has(pk) || this.#recent.get(pk, now) !== undefined) fresh--;
    if (this.#pending.size + fresh > this.#maxInFlight) {
      throw new RingError('OVERLOADED', `Dispatcher ${this.id} has ${this.#pending.size} recipients in flight; ${fresh} more would pass maxInFlight (${this.#maxInFlight})`);
    }
    const empty = this.#router.ring.size === 0;
    const toSend: Pending[] = [];
    const results = keys.map((key, i): Promise<DeliveryOutcome> => {
      const pk = pks[i]!;
      const pending = this.#pending.get(pk);
      if (pending !== undefined) return pending.promise;
      const recent = this.#recent.get(pk, now);
      if (recent !== undefined) return Promise.resolve(recent);
      if (empty) return Promise.resolve({ status: 'failed', key, reason: 'no-owner' });
      let resolve!: (outcome: DeliveryOutcome) => void;
      const promise = new Promise<DeliveryOutcome>((r) => (resolve = r));
      const p: Pending = { pk, id, key, data, deadline: now + ttlMs, sentAt: now, reached: new Set(), refused: undefined, lastFail: 'unreachable', retryAt: Infinity, publishing: 0, promise, resolve };
      this.#pending.set(pk, p);
      toSend.push(p);
      return promise;
    });
    this.#publish(toSend);
    return Promise.all(results);
  }

  /** Stops listening; what is still in flight resolves now: `unknown` when a node may have it, else `failed: closed`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#router.off('change', this.#onChange);
    for (const p of [...this.#pending.values()]) this.#finish(p, p.reached.size > 0 ? { status: 'unknown', key: p.key, reason: 'no-outcome' } : { status: 'failed', key: p.key, reason: 'closed' });
    await this.#unlisten?.().catch((error: unknown) => this.#fail(error));
    this.removeAllListeners();
  }

  /** Publishes `batch` (all of one message id, or retries of any): grouped by owner, or once to every node. */
  #publish(batch: readonly Pending[]): void {
    if (batch.length === 0 || this.#closed) return;
    const byMessage = new Map<string, Pending[]>();
    for (const p of batch) {
      p.retryAt = Infinity; // until the publication settles
      const list = byMessage.get(p.id);
      if (list === undefined) byMessage.set(p.id, [p]);
      else list.push(p);
    }
    for (const group of byMessage.values()) {
      if (this.#mode === 'broadcast') {
        this.#publishTo(BROADCAST_ADDRESS, 'all', group, 1);
        continue;
      }
      if (this.#router.ring.size === 0) {
        for (const p of group) p.retryAt = Date.now() + NOBODY_RETRY_MS; // wait for a node until the deadline
        continue;
      }
      const byKey = new Map(group.map((p) => [p.key, p]));
      for (const [node, keys] of groupByOwner(this.#router, byKey.keys())) {
        this.#publishTo(nodeAddress(node), node, keys.map((k) => byKey.get(k)!), 0);
      }
    }
  }

  #publishTo(address: string, node: string, group: Pending[], broadcast: 0 | 1): void {
    const first = group[0]!;
    const now = Date.now();
    const wire: DeliverWire = {
      t: 'd', id: first.id, from: this.#address, keys: group.map((p) => p.key), data: first.data, hops: 0,
      ttl: Math.max(0, Math.min(...group.map((p) => p.deadline)) - now), w: 0, b: broadcast,
      // Published there before with no answer yet: a copy may have reached a run of the node that has since restarted
      // (and forgotten it) or whose answer was lost, so the node must not answer this copy with a certain failure.
      e: group.some((p) => p.reached.has(node)) ? 1 : 0,
      ob: 1, // outcomes may come several to a message
    };
    this.#publications++;
    for (const p of group) p.publishing++;
    withTimeout(this.#transport.publish(address, JSON.stringify(wire)), this.#publishTimeoutMs, `publish to ${address}`).then(
      (receivers) => {
        for (const p of group) {
          p.publishing--;
          if (receivers > 0) {
            p.reached.add(node);
            p.retryAt = Date.now() + this.#retryMs;
          } else p.retryAt = Date.now() + NOBODY_RETRY_MS; // nobody listened: certainly not received
          this.#refusedByAll(p);
        }
      },
      (error: unknown) => {
        this.#fail(error);
        // A RingError is a refusal before sending (e.g. a closed transport); anything else may have gone out.
        const certain = error instanceof RingError;
        for (const p of group) {
          p.publishing--;
          if (!certain) p.reached.add(node);
          p.retryAt = Date.now() + (certain ? NOBODY_RETRY_MS : this.#retryMs);
          this.#refusedByAll(p);
        }
      },
    );
  }

  /**
   * Ends `p` as failed when some node answered `failed`, no publication of it
   * is under way, and every node it may have reached answered `failed`
   * (hash mode: in broadcast the deadline decides).
   */
  #refusedByAll(p: Pending): void {
    if (p.refused === undefined || p.publishing > 0 || this.#mode === 'broadcast' || this.#pending.get(p.pk) !== p) return;
    for (const n of p.reached) if (!p.refused.has(n)) return;
    this.#finish(p, { status: 'failed', key: p.key, reason: p.lastFail });
  }

  #onWire(text: string): void {
    const wire = parseWire(text);
    if (wire === null || wire.t === 'd') return this.#fail(new RingError('INVALID_SNAPSHOT', `ignored a malformed outcome (${text.length} characters)`));
    if (wire.t === 'o') return this.#outcome(wire.node, wire.id, wire.outcome);
    for (const { id, outcome } of wire.list) this.#outcome(wire.node, id, outcome);
  }

  /** Node `node`'s final outcome for message `id` to `outcome.key`. */
  #outcome(node: string, id: string, outcome: DeliveryOutcome): void {
    const p = this.#pending.get(`${id}\0${outcome.key}`);
    if (p === undefined) return; // a late or repeated outcome
    if (outcome.status !== 'failed') return this.#finish(p, outcome);
    // A node says it never reached a socket there; another node we tried may still deliver it.
    (p.refused ??= new Set()).add(node);
    p.lastFail = outcome.reason;
    // In broadcast every node heard it: one that has the user's session may still deliver, so wait for the deadline.
    // In hash mode, failed once every node that may have it says so, and no copy is still being published.
    this.#refusedByAll(p);
  }

  #tick(): void {
    const now = Date.now();
    const retry: Pending[] = [];
    for (const p of this.#pending.values()) {
      if (now >= p.deadline + this.#publishTimeoutMs) {
        // In broadcast a node that wrote it answers after its client's ack (or ack timeout): wait for that before failing.
        if (this.#mode === 'broadcast' && p.refused !== undefined && now < p.deadline + this.#publishTimeoutMs + this.#ackTimeoutMs) continue;
        // Failed only when no node that may have it is left: in broadcast, when some node answered failed and none better.
        const maybe = this.#mode === 'broadcast' ? p.reached.size > 0 && p.refused === undefined : [...p.reached].some((n) => p.refused?.has(n) !== true);
        this.#finish(p, maybe ? { status: 'unknown', key: p.key, reason: 'no-outcome' } : { status: 'failed', key: p.key, reason: p.lastFail });
      } else if (now >= p.retryAt && now < p.deadline) retry.push(p);
    }
    this.#publish(retry);
    // Forget outcomes past the dedupe window (cheap: stops at the first fresh one), so the table is not always full.
    this.#recent.prune(now);
  }

  /** Recipients whose owner changed are published to the new owner now. */
  #ringChanged(diff: RingDiff): void {
    if (this.#mode === 'broadcast') return;
    const moved = [...this.#pending.values()].filter((p) => diff.owner(p.key) !== undefined);
    this.#publish(moved);
  }

  #finish(p: Pending, outcome: DeliveryOutcome): void {
    const pk = p.pk;
    if (this.#pending.get(pk) !== p) return;
    this.#pending.delete(pk);
    const now = Date.now();
    this.#recent.set(pk, outcome, now);
    p.resolve(outcome);
    if (outcome.status !== 'delivered') log(this.#logger, { level: 'debug', source: 'dispatcher', event: 'outcome', message: `${this.id}: ${p.id} to ${p.key} ${outcome.status} (${outcome.reason}) after ${now - p.sentAt} ms`, fields: { id: p.id, key: p.key, status: outcome.status, reason: outcome.reason } });
    this.emit('outcome', outcome, now - p.sentAt);
  }

  #fail(error: unknown): void {
    if (this.listenerCount('error') === 0) return;
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
