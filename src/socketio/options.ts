import type { Transport } from '../live/transport.js';
import { RingError, describe } from '../errors.js';
import type { RingNode } from '../ring/types.js';

/** The ring the adapter routes by: a `RingRouter` fits. */
export interface SocketIoRouter {
  /** The ring in use; replaced (not mutated) on change. */
  readonly ring: { readonly size: number; lookup(key: string): RingNode; nodes(): RingNode[] };
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

/** Options of {@link createAdapter}. */
export interface SocketIoAdapterOptions {
  /** Routes keyed rooms to their owner. The adapter never closes it. */
  readonly router: SocketIoRouter;
  /** How the Socket.IO servers reach each other (memory, `RedisTransport`, ...). The adapter never closes it. */
  readonly transport: Transport;
  /** This server's id on the ring: keyed rooms it owns are delivered here. A server that owns nothing still needs a unique id. */
  readonly nodeId: string;
  /**
   * The ring key a room stands for, or `undefined` for a room that is not a
   * key (it keeps Socket.IO's cluster semantics: every server is asked). It
   * must return `undefined` for socket ids, and be the same function on every
   * server.
   * @default `userRooms('user:')`: `user:<id>` is the key `<id>`
   */
  readonly roomKey?: (room: string) => string | undefined;
  /** Prefix of the adapter's transport addresses, `<prefix>:<namespace>:all` and `<prefix>:<namespace>:node:<nodeId>`. @default 'sio' */
  readonly prefix?: string;
  /** How often a server tells the others it is alive. @default 5000 */
  readonly heartbeatIntervalMs?: number;
  /** A server not heard from for this long is dropped from `serverCount()`, and requests stop waiting for it. @default 10000 */
  readonly heartbeatTimeoutMs?: number;
  /** How often a server renews, at each owner, the keyed rooms it holds sockets in without owning them. An owner forgets a registration not renewed for three periods. @default 5000 */
  readonly holdRefreshMs?: number;
  /** After a ring change, how long a key's new owner also forwards its messages to the previous owner, whose sockets are still moving. @default 5000 */
  readonly handoffGraceMs?: number;
  /** Registrations of held rooms an owner keeps; beyond that it forwards every keyed message to the nodes it could not register (slower, never lost). @default 100000 */
  readonly maxHolds?: number;
  /**
   * How long an owner keeps the keyed packets it handled, for a registration
   * that arrives after them: a join on one server and an emit from another
   * travel over different connections, in no guaranteed order. A packet
   * emitted up to this long before the registration arrives is forwarded to
   * the registering node when it does. @default 250
   */
  readonly replayMs?: number;
  /** Bytes of packets the owner keeps for `replayMs`; beyond, the oldest go first and a late registration is reported. @default 4000000 */
  readonly maxReplayBytes?: number;
  /** Ids of routed messages remembered to drop a second copy. @default 10000 */
  readonly maxRecentIds?: number;
  /**
   * How long `serverSideEmit` with an ack waits for the other servers, and
   * `fetchSockets` without a `timeout` flag (Socket.IO passes no timeout to
   * `serverSideEmit`). socket.io-adapter's value. @default 5000
   */
  readonly requestTimeoutMs?: number;
  /** Largest encoded message sent or accepted; a bigger one is dropped and reported. @default 1000000 */
  readonly maxMessageBytes?: number;
}

export interface ResolvedOptions {
  readonly router: SocketIoRouter;
  readonly transport: Transport;
  readonly nodeId: string;
  readonly roomKey: (room: string) => string | undefined;
  readonly prefix: string;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly holdRefreshMs: number;
  readonly handoffGraceMs: number;
  readonly maxHolds: number;
  readonly maxRecentIds: number;
  readonly maxMessageBytes: number;
  readonly replayMs: number;
  readonly maxReplayBytes: number;
  readonly requestTimeoutMs: number;
}

/**
 * Rooms named `<prefix><key>` stand for `<key>`; any other room is not a key.
 * @example userRooms('user:')('user:42') === '42'
 */
export function userRooms(prefix: string): (room: string) => string | undefined {
  if (typeof prefix !== 'string' || prefix.length === 0) throw new RingError('INVALID_OPTION', `userRooms() needs a non-empty prefix, got ${describe(prefix)}`);
  return (room) => (room.length > prefix.length && room.startsWith(prefix) ? room.slice(prefix.length) : undefined);
}

function positive(name: string, value: unknown, fallback: number, integer = false): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isSafeInteger(v))) {
    throw new RingError('INVALID_OPTION', `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${describe(v)}`);
  }
  return v;
}

export function resolveOptions(options: SocketIoAdapterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `createAdapter() needs { router, transport, nodeId }, got ${describe(options)}`);
  const { router, transport, nodeId } = options;
  if (typeof router !== 'object' || router === null || typeof router.on !== 'function' || typeof router.off !== 'function' || typeof router.ring?.lookup !== 'function') {
    throw new RingError('INVALID_OPTION', 'createAdapter() needs options.router to be a RingRouter (ring, on, off)');
  }
  if (typeof transport !== 'object' || transport === null || typeof transport.publish !== 'function' || typeof transport.listen !== 'function') {
    throw new RingError('INVALID_OPTION', 'createAdapter() needs options.transport to be a Transport (publish, listen)');
  }
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > 256) throw new RingError('INVALID_OPTION', `nodeId must be a string of 1 to 256 characters, got ${describe(nodeId)}`);
  if (options.roomKey !== undefined && typeof options.roomKey !== 'function') throw new RingError('INVALID_OPTION', `roomKey must be a function, got ${describe(options.roomKey)}`);
  const prefix = options.prefix ?? 'sio';
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 64) throw new RingError('INVALID_OPTION', `prefix must be a string of 1 to 64 characters, got ${describe(prefix)}`);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 5000);
  const heartbeatTimeoutMs = positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs, 10000);
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) throw new RingError('INVALID_OPTION', `heartbeatTimeoutMs (${heartbeatTimeoutMs}) must be longer than heartbeatIntervalMs (${heartbeatIntervalMs})`);
  return {
    router,
    transport,
    nodeId,
    roomKey: options.roomKey ?? userRooms('user:'),
    prefix,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    holdRefreshMs: positive('holdRefreshMs', options.holdRefreshMs, 5000),
    handoffGraceMs: positive('handoffGraceMs', options.handoffGraceMs, 5000),
    maxHolds: positive('maxHolds', options.maxHolds, 100_000, true),
    maxRecentIds: positive('maxRecentIds', options.maxRecentIds, 10_000, true),
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 1_000_000, true),
    replayMs: positive('replayMs', options.replayMs, 250),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 5000),
    maxReplayBytes: positive('maxReplayBytes', options.maxReplayBytes, 4_000_000, true),
  };
}
