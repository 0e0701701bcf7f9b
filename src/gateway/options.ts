import { RingError, describe } from '../errors.js';
import { descriptorLimit, resolveDescriptorBudget } from '../sessions/descriptors.js';
import type { RingNode } from '../ring/types.js';
import type { Dispatcher } from '../sessions/dispatcher.js';
import type { RouterLike } from '../sessions/options.js';
import type { Authenticate } from './authenticate.js';

/** A chat-like message as the gateway hands it to the nodes (the default {@link GatewayOptions.format} writes it as JSON). */
export interface GatewayMessage {
  readonly kind: 'oneToOne' | 'group';
  /** The authenticated sender: never taken from the request body. */
  readonly from: string;
  readonly text: string;
  /** The group's id, for group sends. */
  readonly group?: string;
}

/**
 * Every bound of the gateway. Each has a default, chosen for a public chat
 * service on one gateway process; see docs/gateway.md for what a client
 * sees when it is reached.
 */
export interface GatewayLimits {
  /** Largest request body; more is answered 413. @default 65536 (64 KiB) */
  readonly maxBodyBytes?: number;
  /** Longest `text`; more is answered 413. @default 4096 */
  readonly maxTextLength?: number;
  /** Most recipients of one group send; more is answered 413. @default 256 */
  readonly maxRecipients?: number;
  /** Recipients whose outcome is pending, over all sends of this gateway; a send that would pass it is answered 503 with `Retry-After`. @default 10000 */
  readonly maxInFlight?: number;
  /** Sustained sends per second per sender (a group send costs 1 + recipients / 32, at most `burst`); more is answered 429 with `Retry-After`. @default 20 */
  readonly ratePerSecond?: number;
  /** Sends a sender may make at once before its rate applies. @default 40 */
  readonly burst?: number;
  /** Senders whose rate is tracked; a new sender while every tracked one is still limited is answered 503. @default 100000 */
  readonly maxSenders?: number;
  /**
   * Open WebSocket tunnels (each holds two descriptors: the client's and the
   * hop to the node); more upgrades are answered 503.
   * The rest of the budget is room for upgrades being refused and queued:
   * a refusal holds its descriptor until the client reads its 503.
   * @default 45% of the descriptor budget (`0.45 * (maxDescriptors - reservedDescriptors)`: 0.9 of it in tunnels), at most 50000
   */
  readonly maxTunnels?: number;
  /**
   * Upgrades in progress: admitted, not yet answered by the owner
   * (authentication, connect, the owner's handshake). More wait in a FIFO
   * queue. Bounding them keeps each upgrade as cheap as on a quiet gateway
   * during a storm, instead of starting every one and finishing none in time.
   * @default 256
   */
  readonly maxPendingUpgrades?: number;
  /**
   * Upgrades in progress to one owner node: a node that stops answering
   * handshakes holds no more than this many slots, and the other nodes'
   * users still connect.
   * @default twice the even share: `2 * maxPendingUpgrades / nodes`, at least 4
   */
  readonly maxPendingPerNode?: number;
  /** `GET /route` requests in progress (authentication and lookup); more wait in their own queue. @default 256 */
  readonly maxPendingRoutes?: number;
  /** Upgrades (and, separately, `/route` requests) waiting for a slot; one more is answered 503 with `Retry-After` at once. @default 4096 */
  readonly maxQueued?: number;
  /** A request that waited this long for a slot is answered 503 with `Retry-After`. Keep it below the clients' connect timeout. @default 5000 */
  readonly queueTimeoutMs?: number;
  /** The process's descriptor limit. @default the soft open-file limit read from `/proc/self/limits`, else 65536 */
  readonly maxDescriptors?: number;
  /** Descriptors kept free of tunnels for everything else (store and bus connections, `/send` requests, logs). @default 512 (a quarter of the limit when smaller) */
  readonly reservedDescriptors?: number;
  /** The owner must answer an upgrade (connect and first bytes of its handshake) within this, or the client gets 502. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** A tunnel silent both ways this long is closed. Keep it above the nodes' ping interval. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** `authenticate` must settle within this, or the request is answered 503. @default 5000 */
  readonly authTimeoutMs?: number;
  /** Headers must arrive within this (slowloris); applied by {@link gatewayServerOptions}. @default 10000 */
  readonly headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this; applied by {@link gatewayServerOptions}. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** An idle keep-alive HTTP connection is closed after this; applied by {@link gatewayServerOptions}. @default 65000 */
  readonly keepAliveTimeoutMs?: number;
  /** Largest request head (request line and headers); more is answered 431. Applied by {@link gatewayServerOptions}. @default 16384 */
  readonly maxHeaderBytes?: number;
}

/** Limits whose defaults are derived from the process (its descriptor limit) or the ring (its size). */
type DerivedLimit = 'maxDescriptors' | 'reservedDescriptors' | 'maxPendingPerNode';

/** Every limit with its value; `maxPendingPerNode` is 0 for "twice the even share". */
export type ResolvedLimits = { readonly [K in keyof GatewayLimits]-?: number };

/** The defaults that do not depend on the process; `maxTunnels` here is its cap (see {@link GatewayLimits.maxTunnels}). */
export const DEFAULT_LIMITS: Readonly<Omit<ResolvedLimits, DerivedLimit>> = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxTextLength: 4096,
  maxRecipients: 256,
  maxInFlight: 10_000,
  ratePerSecond: 20,
  burst: 40,
  maxSenders: 100_000,
  maxTunnels: 50_000,
  maxPendingUpgrades: 256,
  maxPendingRoutes: 256,
  maxQueued: 4096,
  queueTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  idleTimeoutMs: 60_000,
  authTimeoutMs: 5000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16 * 1024,
});

/** Options of {@link GatewayHandler}. */
export interface GatewayOptions {
  /** The gateway's view of the ring (a `RingRouter`). Never closed by the gateway. */
  readonly router: RouterLike;
  /** Sends the messages of `POST /send` and group sends. Never closed by the gateway. */
  readonly dispatcher: Pick<Dispatcher, 'sendGroup'>;
  /**
   * Who is calling: resolves to the caller's user id, or to `null` (or
   * rejects) when the request carries no valid credential (answered 401).
   * Required: a gateway without it refuses to start unless `insecure` is set.
   * {@link createJwtAuthenticator} is a ready one.
   */
  readonly authenticate?: Authenticate;
  /**
   * Local demos only: without `authenticate`, trust the `user` query
   * parameter and the body's `from` as the caller's identity. Anyone can
   * then act as anyone. Must be exactly `true`.
   * @default false
   */
  readonly insecure?: boolean;
  /** Bounds and timeouts (each with a default). */
  readonly limits?: GatewayLimits;
  /** Path of the WebSocket endpoint. @default '/ws' */
  readonly wsPath?: string;
  /** Which strings are user ids (recipients, the `user` parameter, what `authenticate` returns). @default 1-64 characters of `[A-Za-z0-9_.:-]` */
  readonly isUserId?: (value: string) => boolean;
  /** Turns a message into the string the nodes deliver. @default JSON.stringify */
  readonly format?: (message: GatewayMessage) => string;
  /**
   * Last word on a member's (already valid) URL before a tunnel is opened:
   * return false to refuse it (for instance a host outside the private
   * network: members come from the shared store). Refusals are reported.
   * @default every valid ws:/wss: URL is allowed
   */
  readonly allowTarget?: (target: { readonly host: string; readonly port: number; readonly tls: boolean }, node: RingNode) => boolean;
  /** Time source, for tests. @default Date.now */
  readonly now?: () => number;
}

export interface ResolvedGatewayOptions {
  readonly router: RouterLike;
  readonly dispatcher: Pick<Dispatcher, 'sendGroup'>;
  readonly authenticate: Authenticate | null;
  readonly limits: ResolvedLimits;
  readonly wsPath: string;
  readonly isUserId: (value: string) => boolean;
  readonly format: (message: GatewayMessage) => string;
  readonly allowTarget: NonNullable<GatewayOptions['allowTarget']>;
  readonly now: () => number;
}

const USER_ID = /^[\w.:-]{1,64}$/;

export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `GatewayHandler needs { router, dispatcher, authenticate }, got ${describe(options)}`);
  const { router, dispatcher, authenticate, insecure } = options;
  if (typeof router?.lookup !== 'function' || typeof router.ring !== 'object') throw new RingError('INVALID_OPTION', `router must be a RingRouter, got ${describe(router)}`);
  if (typeof dispatcher?.sendGroup !== 'function') throw new RingError('INVALID_OPTION', `dispatcher must be a Dispatcher, got ${describe(dispatcher)}`);
  if (insecure !== undefined && typeof insecure !== 'boolean') throw new RingError('INVALID_OPTION', `insecure must be true or false, got ${describe(insecure)}`);
  if (authenticate !== undefined && typeof authenticate !== 'function') throw new RingError('INVALID_OPTION', `authenticate must be a function (req) => user id, got ${describe(authenticate)}`);
  if (authenticate === undefined && insecure !== true) {
    throw new RingError('INVALID_OPTION', 'a gateway needs an authenticate(req) hook (createJwtAuthenticator is a ready one); pass insecure: true only for a local demo where anyone may act as anyone');
  }
  if (authenticate !== undefined && insecure === true) throw new RingError('INVALID_OPTION', 'pass either authenticate or insecure: true, not both');
  const wsPath = options.wsPath ?? '/ws';
  if (typeof wsPath !== 'string' || !wsPath.startsWith('/')) throw new RingError('INVALID_OPTION', `wsPath must be a path starting with "/", got ${describe(wsPath)}`);
  for (const name of ['isUserId', 'format', 'allowTarget', 'now'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new RingError('INVALID_OPTION', `${name} must be a function, got ${describe(options[name])}`);
  }
  return {
    router, dispatcher, wsPath,
    authenticate: authenticate ?? null,
    limits: resolveLimits(options.limits),
    isUserId: options.isUserId ?? ((value) => USER_ID.test(value)),
    format: options.format ?? ((message) => JSON.stringify(message)),
    allowTarget: options.allowTarget ?? (() => true),
    now: options.now ?? Date.now,
  };
}

/** Tunnels hold 2 descriptors each: 0.45 of the budget in tunnels leaves a tenth of it for refusals, queued upgrades and route requests. */
const TUNNEL_SHARE = 0.45;

const DERIVED: readonly DerivedLimit[] = ['maxDescriptors', 'reservedDescriptors', 'maxPendingPerNode'];

/** Checks every limit (a positive integer) and fills in the defaults, reading the process's descriptor limit when `maxDescriptors` is not given. */
export function resolveLimits(limits: GatewayLimits = {}, readLimit: () => number | null = descriptorLimit): ResolvedLimits {
  if (typeof limits !== 'object' || limits === null) throw new RingError('INVALID_OPTION', `limits must be an object, got ${describe(limits)}`);
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in DEFAULT_LIMITS) && !DERIVED.includes(name as DerivedLimit)) {
      throw new RingError('INVALID_OPTION', `unknown limit ${JSON.stringify(name)} (known: ${[...Object.keys(DEFAULT_LIMITS), ...DERIVED].join(', ')})`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RingError('INVALID_OPTION', `limits.${name} must be an integer >= 1, got ${describe(value)}`);
    out[name] = value;
  }
  const budget = resolveDescriptorBudget({ ...(limits.maxDescriptors !== undefined ? { maxDescriptors: limits.maxDescriptors } : {}), ...(limits.reservedDescriptors !== undefined ? { reservedDescriptors: limits.reservedDescriptors } : {}) }, readLimit);
  out.maxDescriptors = budget.limit;
  out.reservedDescriptors = budget.reserved;
  out.maxPendingPerNode = limits.maxPendingPerNode ?? 0;
  if (limits.maxTunnels === undefined) out.maxTunnels = Math.max(1, Math.min(DEFAULT_LIMITS.maxTunnels, Math.floor(budget.sockets * TUNNEL_SHARE)));
  return out as ResolvedLimits;
}

/**
 * Options for `http.createServer` that apply the gateway's header, request
 * and keep-alive timeouts and its header size. Node checks these timeouts
 * every `connectionsCheckingInterval`, which is set to a fraction of the
 * header timeout so a slowloris client is cut near the limit, not 30 s later.
 */
export function gatewayServerOptions(limits: GatewayLimits = {}): {
  headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number; maxHeaderSize: number;
} {
  const l = resolveLimits(limits);
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: Math.max(l.requestTimeoutMs, l.headersTimeoutMs),
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    maxHeaderSize: l.maxHeaderBytes,
  };
}
