import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import { CloseCode, type MoveTarget, PONG_FRAME, PROTOCOL_VERSION, ackFrame, parseCloseReason, parseNodeFrame } from '../sessions/protocol.js';
import { fullJitter, retryAfterDelay } from './backoff.js';
import { parseRetryAfter } from './retry-after.js';
import { SeenIds } from './seen-ids.js';
import type { SessionClientStats } from './stats.js';
import { listenForRefusal } from './upgrade-refusal.js';

/** The part of the standard WebSocket that the client uses (browsers' `WebSocket`, and `ws`'s, fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers and Node 22+, or `ws`'s `WebSocket`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of a {@link SessionClient}. */
export interface SessionClientOptions {
  /**
   * Where to connect first and after failures: a gateway that proxies to the
   * owner, or any node (which redirects). A function is called before each
   * such connect, e.g. to ask a gateway for the owner's URL first (two-step
   * connect); when it throws or rejects, the client backs off and tries again.
   */
  readonly url: string | (() => string | Promise<string>);
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /**
   * The URL to reach a named owner. @default the owner's `url` with this
   * client's path and query (e.g. `ws://10.0.0.7:8080` + `/ws?user=42`) when
   * the owner's URL has no path, else the owner's URL as is.
   */
  readonly ownerUrl?: (target: MoveTarget, base: string) => string;
  /**
   * First backoff step after a failure or a lost connection: retry k waits a
   * uniform [0, min(maxBackoffMs, backoffMs x 2^k)) ("full jitter"). N
   * clients that lose their node together arrive at about N / window per
   * second: a node's 25,000 users come back at 25,000/s over 1 s (250 ms
   * would be 100,000/s), and each round that fails again halves the rate.
   * @default 1000
   */
  readonly backoffMs?: number;
  /**
   * The longest backoff window, and the cap on a server's `Retry-After`.
   * Clients that keep failing settle at N / 30 s: 100,000 clients at about
   * 3,300 attempts/s. @default 30000
   */
  readonly maxBackoffMs?: number;
  /** Spread of a reconnect after a "moved" close, in ms (uniform in [0, moveJitterMs)). @default 250 */
  readonly moveJitterMs?: number;
  /** Redirects followed in a row without a welcome before falling back to `url` with backoff. @default 5 */
  readonly maxRedirects?: number;
  /** No frame at all from the node this long (the node pings every 25 s by default): reconnect. 0 turns it off. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** A connection not open after this long is abandoned and retried. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Message ids remembered to drop duplicates. @default 4096 */
  readonly dedupeWindow?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Events of a {@link SessionClient}. */
export interface SessionClientEvents {
  /** A new message (each id once; repeats are acknowledged and dropped). */
  message: [data: string, id: string];
  /** A node accepted the session. */
  welcome: [node: string];
  /** The node sent the client elsewhere (4001 moved, 4002 wrong node, 4005 shutdown). */
  move: [target: MoveTarget, code: number];
  /** The connection closed; the client reconnects unless it was closed by {@link SessionClient.close}. */
  disconnect: [code: number, reason: string];
  /**
   * The server answered the upgrade with an HTTP status instead of 101 (e.g.
   * 503 from an overloaded node), with its `Retry-After` in ms (capped at
   * `maxBackoffMs`) or null. Only under Node's `ws`: browsers, and Node's
   * built-in `WebSocket` (the browser API), do not show the answer. The
   * next attempt waits at least `retryAfterMs` (plus up to half as much
   * again, so refused clients do not return together); a 'disconnect'
   * (1006) follows.
   */
  refused: [status: number, retryAfterMs: number | null];
  /** Something went wrong that the client cannot fix by reconnecting (e.g. a protocol version mismatch), or a constructor failure. */
  error: [error: Error];
}

const OPEN = 1;

/**
 * A reconnecting client for `ringroute/sessions` nodes, for browsers and
 * Node (no Node-only imports). It follows "moved" and "wrong node" closes
 * straight to the named owner, backs off with full jitter on failures,
 * waits out a refusal's `Retry-After` where it can see it (Node's `ws`),
 * answers keepalive pings, acknowledges every message and drops repeats by
 * id. {@link SessionClient.stats} counts what happened to its attempts.
 *
 * @example
 * ```ts
 * const client = new SessionClient({ url: 'wss://chat.example.com/ws?token=...' });
 * client.on('message', (data) => render(JSON.parse(data)));
 * client.start();
 * ```
 */
export class SessionClient extends EventEmitter<SessionClientEvents> {
  readonly #url: string | (() => string | Promise<string>);
  /** The URL of the current or last connection: its path and query go with redirects. */
  #current = '';
  readonly #WebSocket: WebSocketConstructor;
  readonly #ownerUrl: (target: MoveTarget, base: string) => string;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #moveJitterMs: number;
  readonly #maxRedirects: number;
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #random: () => number;
  readonly #seen: SeenIds;
  #ws: WebSocketLike | null = null;
  #node: string | null = null;
  #attempt = 0;
  #redirects = 0;
  #target: MoveTarget | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;
  /** The current attempt saw a welcome / a refusal (so its close is no failure). */
  #welcomed = false;
  #refused = false;
  /** A Retry-After the next backoff must honour. */
  #retryAfterMs: number | null = null;
  #welcomes = 0;
  #refusals: Record<string, number> = {};
  #failures = 0;
  #redirectsFollowed = 0;
  #lastRetryAfterMs: number | null = null;
  /** Connections opened so far (also in {@link SessionClient.stats}). */
  connects = 0;

  constructor(options: SessionClientOptions) {
    super();
    const url = options?.url;
    if (typeof options !== 'object' || options === null || (typeof url !== 'function' && (typeof url !== 'string' || !/^wss?:\/\//i.test(url)))) {
      throw new RingError('INVALID_OPTION', `SessionClient needs { url } with a ws:// or wss:// URL (or a function returning one), got ${describe(url)}`);
    }
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') throw new RingError('INVALID_OPTION', `WebSocket must be a WebSocket constructor, got ${describe(options.WebSocket)}`);
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Ctor !== 'function') throw new RingError('INVALID_OPTION', 'no WebSocket: pass options.WebSocket (e.g. WebSocket from the ws package on Node < 22)');
    if (options.ownerUrl !== undefined && typeof options.ownerUrl !== 'function') throw new RingError('INVALID_OPTION', `ownerUrl must be a function (target, base) => url, got ${describe(options.ownerUrl)}`);
    this.#url = options.url;
    this.#WebSocket = Ctor;
    this.#ownerUrl = options.ownerUrl ?? defaultOwnerUrl;
    this.#backoffMs = nonNegative(options.backoffMs, 1000, 'backoffMs');
    this.#maxBackoffMs = nonNegative(options.maxBackoffMs, 30_000, 'maxBackoffMs');
    this.#moveJitterMs = nonNegative(options.moveJitterMs, 250, 'moveJitterMs');
    this.#maxRedirects = nonNegative(options.maxRedirects, 5, 'maxRedirects');
    if (!Number.isInteger(this.#maxRedirects)) throw new RingError('INVALID_OPTION', `maxRedirects must be an integer >= 0, got ${describe(this.#maxRedirects)}`);
    this.#idleTimeoutMs = nonNegative(options.idleTimeoutMs, 60_000, 'idleTimeoutMs');
    this.#connectTimeoutMs = nonNegative(options.connectTimeoutMs, 10_000, 'connectTimeoutMs');
    const window = nonNegative(options.dedupeWindow, 4096, 'dedupeWindow');
    if (!Number.isInteger(window) || window < 1) throw new RingError('INVALID_OPTION', `dedupeWindow must be an integer >= 1, got ${describe(window)}`);
    this.#seen = new SeenIds(window);
    if (options.random !== undefined && typeof options.random !== 'function') throw new RingError('INVALID_OPTION', `random must be a function returning [0, 1), got ${describe(options.random)}`);
    this.#random = options.random ?? Math.random;
  }

  /** The node that welcomed the current connection, or null while (re)connecting. */
  get node(): string | null {
    return this.#node;
  }

  /** What happened to this client's connection attempts so far (a fresh object each call). */
  stats(): SessionClientStats {
    return {
      connects: this.connects,
      welcomes: this.#welcomes,
      refusals: { ...this.#refusals },
      failures: this.#failures,
      redirects: this.#redirectsFollowed,
      lastRetryAfterMs: this.#lastRetryAfterMs,
    };
  }

  /** Connects (once; later calls do nothing). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#home();
  }

  /** Closes the connection (code 1000) and stops reconnecting. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#idle);
    const ws = this.#ws;
    this.#ws = null;
    this.#node = null;
    try {
      ws?.close(1000, 'client closed');
    } catch {
      // not open yet
    }
  }

  /** Connects to `url` (or what the url function gives), backing off when the function fails. */
  #home(): void {
    const source = this.#url;
    if (typeof source === 'string') return this.#connect(source);
    Promise.resolve()
      .then(source)
      .then(
        (url) => {
          if (typeof url !== 'string' || !/^wss?:\/\//i.test(url)) throw new RingError('INVALID_OPTION', `options.url() must return a ws:// or wss:// URL, got ${describe(url)}`);
          this.#connect(url);
        },
        (error: unknown) => {
          this.emit('error', error instanceof Error ? error : new Error(String(error)));
          this.#retry(null);
        },
      )
      .catch((error: unknown) => {
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
        this.#retry(null);
      });
  }

  #connect(url: string): void {
    if (this.#stopped) return;
    this.#current = url;
    this.#target = null;
    let ws: WebSocketLike;
    try {
      ws = new this.#WebSocket(url);
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return this.#retry(null);
    }
    this.connects++;
    this.#ws = ws;
    this.#welcomed = false;
    this.#refused = false;
    listenForRefusal(ws, (status, header) => {
      if (this.#ws === ws) this.#onRefused(status, header);
    });
    this.#timer = setTimeout(() => {
      if (this.#ws === ws && ws.readyState !== OPEN) this.#drop(ws, 4000, 'connect timeout');
    }, this.#connectTimeoutMs);
    ws.onopen = () => this.#touch(ws);
    ws.onerror = () => undefined; // a close event follows
    ws.onmessage = (event) => this.#onMessage(ws, event.data);
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      this.#closed(event.code, event.reason ?? '');
    };
  }

  #onMessage(ws: WebSocketLike, data: unknown): void {
    if (this.#ws !== ws) return;
    this.#touch(ws);
    const frame = typeof data === 'string' ? parseNodeFrame(data) : null;
    if (frame === null) return;
    switch (frame.t) {
      case 'msg':
        ws.send(ackFrame(frame.id)); // a repeat is acknowledged too, so the node stops resending
        if (!this.#seen.seen(frame.id)) this.emit('message', frame.data, frame.id);
        return;
      case 'ping':
        ws.send(PONG_FRAME);
        return;
      case 'welcome':
        if (frame.v !== PROTOCOL_VERSION) {
          this.emit('error', new RingError('INVALID_OPTION', `node ${frame.node} speaks protocol ${frame.v}, this client ${PROTOCOL_VERSION}`));
          return this.close();
        }
        this.#node = frame.node;
        this.#welcomed = true;
        this.#welcomes++;
        this.#attempt = 0;
        this.#redirects = 0;
        this.emit('welcome', frame.node);
        return;
      case 'move':
        this.#target = { node: frame.node, url: frame.url };
        return;
    }
  }

  #onRefused(status: number, header: string | readonly string[] | undefined): void {
    const retryAfterMs = parseRetryAfter(header, Date.now(), this.#maxBackoffMs);
    this.#refused = true;
    this.#refusals[status] = (this.#refusals[status] ?? 0) + 1;
    this.#lastRetryAfterMs = retryAfterMs;
    this.#retryAfterMs = retryAfterMs;
    this.emit('refused', status, retryAfterMs);
  }

  #closed(code: number, reason: string): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#idle);
    this.#ws = null;
    this.#node = null;
    const redirect = code === CloseCode.MOVED || code === CloseCode.WRONG_NODE || code === CloseCode.SHUTDOWN;
    const target = redirect ? (this.#target ?? parseCloseReason(reason)) : null;
    // Counted before the events, so a listener's stats() already includes this close.
    const follows = target !== null && target.url !== '' && this.#redirects < this.#maxRedirects;
    if (!this.#welcomed && !this.#refused && !follows) this.#failures++;
    this.emit('disconnect', code, reason);
    if (target !== null) this.emit('move', target, code);
    this.#retry(target !== null && target.url !== '' ? target : null, code);
  }

  #retry(target: MoveTarget | null, code?: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    if (target !== null && this.#redirects < this.#maxRedirects) {
      let url: string;
      try {
        url = this.#ownerUrl(target, this.#current);
      } catch (error) {
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
        return this.#retry(null);
      }
      this.#redirects++;
      this.#redirectsFollowed++;
      // A moved client spreads its reconnect; one sent away at attach goes at once.
      const delay = code === CloseCode.WRONG_NODE ? 0 : this.#random() * this.#moveJitterMs;
      this.#timer = setTimeout(() => this.#connect(url), delay);
      return;
    }
    this.#redirects = 0;
    const backoff = fullJitter(this.#attempt++, this.#backoffMs, this.#maxBackoffMs, this.#random);
    const retryAfter = this.#retryAfterMs;
    this.#retryAfterMs = null;
    // The larger of the two: a Retry-After of 0 must not turn off the backoff.
    const delay = retryAfter === null ? backoff : Math.max(backoff, retryAfterDelay(retryAfter, this.#random));
    this.#timer = setTimeout(() => this.#home(), delay);
  }

  #touch(ws: WebSocketLike): void {
    if (this.#idleTimeoutMs === 0) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.#drop(ws, CloseCode.TIMEOUT, 'idle timeout'), this.#idleTimeoutMs);
  }

  /** Gives up on `ws` without waiting for its close handshake. */
  #drop(ws: WebSocketLike, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close(code, reason);
    } catch {
      // not open yet
    }
    this.#closed(code, reason);
  }
}

function defaultOwnerUrl(target: MoveTarget, base: string): string {
  const owner = new URL(target.url);
  if (owner.pathname !== '/' && owner.pathname !== '') return target.url;
  const from = new URL(base);
  owner.pathname = from.pathname;
  owner.search = from.search;
  return owner.toString();
}

function nonNegative(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RingError('INVALID_OPTION', `${name} must be a number >= 0, got ${describe(value)}`);
  return value;
}
