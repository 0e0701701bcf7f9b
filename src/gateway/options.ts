import { RingError, describe } from '../errors.js';
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
  /** Open WebSocket tunnels; more upgrades are answered 503. @default 50000 */
  readonly maxTunnels?: number;
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

export type ResolvedLimits = { readonly [K in keyof GatewayLimits]-?: number };

export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxTextLength: 4096,
  maxRecipients: 256,
  maxInFlight: 10_000,
  ratePerSecond: 20,
  burst: 40,
  maxSenders: 100_000,
  maxTunnels: 50_000,
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

/** Checks every limit (a positive integer) and fills in the defaults. */
export function resolveLimits(limits: GatewayLimits = {}): ResolvedLimits {
  if (typeof limits !== 'object' || limits === null) throw new RingError('INVALID_OPTION', `limits must be an object, got ${describe(limits)}`);
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in DEFAULT_LIMITS)) throw new RingError('INVALID_OPTION', `unknown limit ${JSON.stringify(name)} (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RingError('INVALID_OPTION', `limits.${name} must be an integer >= 1, got ${describe(value)}`);
    out[name] = value;
  }
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
