import { RingError, describe } from '../errors.js';
import { type Logger, badLogger } from '../live/logger.js';
import type { Transport } from '../live/transport.js';
import type { RingDiff, RingNode } from '../ring/types.js';
import type { Hasher } from '../ring/types.js';
import { DEFAULT_HOLD_BYTES, DEFAULT_HOLD_PER_KEY, type HoldQueueOptions } from './hold-queue.js';

/**
 * What the session parts need from a router: a `RingRouter` fits as is.
 * `ring.hasher` indexes local keys by hash; `ring.size` tells an empty ring.
 */
export interface RouterLike {
  lookup(key: string): RingNode;
  readonly ring: { readonly size: number; readonly hasher: Hasher };
  on(event: 'change', listener: (diff: RingDiff) => void): unknown;
  off(event: 'change', listener: (diff: RingDiff) => void): unknown;
  /** Reads the store now (a `RingRouter` has it); a fenced node calls it before it unfences. Without it, the node unfences at once. */
  resync?(): Promise<void>;
}

/** What a node does with its sessions when the ring changes. */
export type HandoffStrategy = 'selective' | 'reconnect-all';

/** Options of {@link SessionNode.start}. */
export interface SessionNodeOptions {
  /** This node's id, as on the ring. */
  readonly id: string;
  /** The node's view of the ring (a `RingRouter`). The node never closes it. */
  readonly router: RouterLike;
  /** How nodes forward deliveries and report outcomes. The node never closes it. */
  readonly transport: Transport;
  /** `selective`: close only the sessions whose key moved away; `reconnect-all`: every session on any change (the baseline). @default 'selective' */
  readonly strategy?: HandoffStrategy;
  /** Pace of the closes a ring change causes. @default 1000 */
  readonly maxClosesPerSecond?: number;
  /** How much the interval between batches of closes varies, as a fraction in [0, 1). @default 0.5 */
  readonly jitter?: number;
  /** Time to live of a message given to {@link SessionNode.deliver}. @default 10000 */
  readonly ttlMs?: number;
  /** A message written to a socket and not acknowledged within this is reported `unknown`. @default 10000 */
  readonly ackTimeoutMs?: number;
  /** Bounds of the hold queue. */
  readonly hold?: HoldQueueOptions;
  /** Messages written and not yet acknowledged, over all sessions; past it a new message fails with `overloaded`. @default 100000 */
  readonly maxInFlight?: number;
  /** Unacknowledged messages per session; past it the session is a slow consumer. @default 1024 */
  readonly maxInFlightPerSession?: number;
  /** A socket whose `bufferedAmount` passes this is a slow consumer: closed with 4003, its messages go on. @default 1048576 (1 MiB) */
  readonly maxBufferedBytes?: number;
  /** A session silent this long gets a ping. 0 turns keepalive off. @default 25000 */
  readonly pingIntervalMs?: number;
  /** A ping not answered within this closes the session with 4004. @default 10000 */
  readonly pongTimeoutMs?: number;
  /** Node-to-node forwards of one message before a node holds it instead (until its ring agrees with the others). @default 3 */
  readonly maxHops?: number;
  /**
   * For this long after a ring change, a message for a key that just moved
   * here, whose user is not connected here yet, is first offered to the
   * key's previous owner, which may still hold the session (paced closes).
   * @default 60000
   */
  readonly handoffWindowMs?: number;
  /** How long a node remembers the outcome of a forwarded message, to answer a sender's retry without delivering twice. @default 60000 */
  readonly dedupeWindowMs?: number;
  /** Most outcomes remembered; the oldest are forgotten first. @default 100000 */
  readonly dedupeMax?: number;
  /** Publishes that take longer count as "maybe sent" and are retried. @default 2000 */
  readonly publishTimeoutMs?: number;
  /** How often held messages are retried and expired, and acknowledgements timed out. @default 250 */
  readonly sweepMs?: number;
  /** Random numbers in [0, 1) for jitter (injectable for tests). @default Math.random */
  readonly random?: () => number;
  /** Traces the node's decisions: `handoff` when a ring change queues sessions to move and `handoff-done` when the last one was closed (info). @default none */
  readonly logger?: Logger;
}

export interface ResolvedNodeOptions {
  readonly id: string;
  readonly router: RouterLike;
  readonly transport: Transport;
  readonly strategy: HandoffStrategy;
  readonly maxClosesPerSecond: number;
  readonly jitter: number;
  readonly ttlMs: number;
  readonly ackTimeoutMs: number;
  readonly maxPerKey: number;
  readonly maxHeldBytes: number;
  readonly maxInFlight: number;
  readonly maxInFlightPerSession: number;
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxHops: number;
  readonly handoffWindowMs: number;
  readonly dedupeWindowMs: number;
  readonly dedupeMax: number;
  readonly publishTimeoutMs: number;
  readonly sweepMs: number;
  readonly random: () => number;
  readonly logger: Logger | undefined;
}

/** Checks every option (throwing `INVALID_OPTION` with the option's name) and fills in the defaults. */
export function resolveNodeOptions(options: SessionNodeOptions): ResolvedNodeOptions {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `SessionNode.start() needs { id, router, transport }, got ${describe(options)}`);
  checkId(options.id, 'id');
  checkRouter(options.router);
  checkTransport(options.transport);
  const strategy = options.strategy ?? 'selective';
  if (strategy !== 'selective' && strategy !== 'reconnect-all') throw new RingError('INVALID_OPTION', `strategy must be 'selective' or 'reconnect-all', got ${describe(strategy)}`);
  const jitter = options.jitter ?? 0.5;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) throw new RingError('INVALID_OPTION', `jitter must be a number in [0, 1), got ${describe(jitter)}`);
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new RingError('INVALID_OPTION', `random must be a function, got ${describe(random)}`);
  const loggerProblem = badLogger(options.logger);
  if (loggerProblem !== undefined) throw new RingError('INVALID_OPTION', loggerProblem);
  return {
    logger: options.logger,
    id: options.id,
    router: options.router,
    transport: options.transport,
    strategy,
    jitter,
    random,
    maxClosesPerSecond: positive(options.maxClosesPerSecond, 1000, 'maxClosesPerSecond'),
    ttlMs: positive(options.ttlMs, 10_000, 'ttlMs'),
    ackTimeoutMs: positive(options.ackTimeoutMs, 10_000, 'ackTimeoutMs'),
    maxPerKey: count(options.hold?.maxPerKey, DEFAULT_HOLD_PER_KEY, 'hold.maxPerKey'),
    maxHeldBytes: count(options.hold?.maxBytes, DEFAULT_HOLD_BYTES, 'hold.maxBytes'),
    maxInFlight: count(options.maxInFlight, 100_000, 'maxInFlight'),
    maxInFlightPerSession: count(options.maxInFlightPerSession, 1024, 'maxInFlightPerSession'),
    maxBufferedBytes: count(options.maxBufferedBytes, 1024 * 1024, 'maxBufferedBytes'),
    pingIntervalMs: options.pingIntervalMs === 0 ? 0 : positive(options.pingIntervalMs, 25_000, 'pingIntervalMs'),
    pongTimeoutMs: positive(options.pongTimeoutMs, 10_000, 'pongTimeoutMs'),
    maxHops: count(options.maxHops, 3, 'maxHops'),
    handoffWindowMs: positive(options.handoffWindowMs, 60_000, 'handoffWindowMs'),
    dedupeWindowMs: positive(options.dedupeWindowMs, 60_000, 'dedupeWindowMs'),
    dedupeMax: count(options.dedupeMax, 100_000, 'dedupeMax'),
    publishTimeoutMs: positive(options.publishTimeoutMs, 2000, 'publishTimeoutMs'),
    sweepMs: positive(options.sweepMs, 250, 'sweepMs'),
  };
}

/** A finite number > 0 (the default when undefined). */
export function positive(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RingError('INVALID_OPTION', `${name} must be a positive number, got ${describe(value)}`);
  return value;
}

/** An integer >= 1 (the default when undefined). */
export function count(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RingError('INVALID_OPTION', `${name} must be an integer >= 1, got ${describe(value)}`);
  return value;
}

/** Keys, node ids and sender ids: non-empty strings of at most 1024 characters. */
export function checkId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw new RingError('INVALID_OPTION', `${name} must be a string of 1 to 1024 characters, got ${describe(value)}`);
}

export function checkRouter(router: unknown): asserts router is RouterLike {
  const r = router as Partial<RouterLike> | null | undefined;
  if (typeof r !== 'object' || r === null || typeof r.lookup !== 'function' || typeof r.on !== 'function' || typeof r.off !== 'function' || typeof r.ring?.hasher?.hash !== 'function') {
    throw new RingError('INVALID_OPTION', `router must be a RingRouter (lookup, ring, on, off), got ${describe(router)}`);
  }
}

export function checkTransport(transport: unknown): asserts transport is Transport {
  const t = transport as Partial<Transport> | null | undefined;
  if (typeof t !== 'object' || t === null || typeof t.publish !== 'function' || typeof t.listen !== 'function') {
    throw new RingError('INVALID_OPTION', `transport must be a Transport (publish, listen, close), got ${describe(transport)}`);
  }
}

/** Rejects after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // One promise and one timer per call (a hot path: every publication), not a race of three.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
