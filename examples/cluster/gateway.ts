/**
 * The gateway: the one address clients and senders know.
 *
 * It keeps the ring with a RingRouter and writes membership into the store
 * with a RingCoordinator (every gateway can run one). It answers
 * `GET /route?user=ID` (the article's two-step connect), forwards the
 * WebSocket upgrade at `/ws?user=ID` to the owner in one step (the raw
 * upgrade request is piped to the owner's server, which answers the
 * handshake itself), and sends messages (`POST /send`,
 * `POST /groups/:id/send`) with a `ringroute/sessions` Dispatcher in
 * `broadcast` or `hash` mode, answering each request with the outcome for
 * every recipient.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type MembershipAdapter, RingCoordinator, RingRouter, type RingStore, type Transport, groupByOwner } from 'ringroute';
import { type DeliveryOutcome, Dispatcher } from 'ringroute/sessions';
import { HttpError, handleJson, readJson, sendJson } from './http.js';
import { type ChatPayload, DEFAULT_GRACE_MS, MODES, type Mode, type TrafficKind, isUserId } from './protocol.js';

export interface GatewayOptions {
  readonly id: string;
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  readonly transport: Transport;
  /** @default 'hash' */
  readonly mode?: Mode;
  /** How long a message may wait for a moving or reconnecting user. @default 10000 */
  readonly graceMs?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default 500 */
  readonly resyncMs?: number;
  /**
   * Terminate HTTPS and WSS here (`{ key, cert }`, PEM): clients then use
   * `https://` and `wss://`, while the hop to the app nodes stays plain on
   * the private network. Without it the gateway speaks plain HTTP, for a
   * TLS-terminating proxy in front (see docs/cluster.md).
   */
  readonly tls?: SecureContextOptions;
  readonly log?: (line: string) => void;
}

/** What `GET /stats` returns. */
export interface GatewayStats {
  readonly id: string;
  readonly version: number;
  /** Owner of 1024 fixed probe keys, hashed: equal on two gateways means they route identically. */
  readonly checksum: string;
  readonly nodes: string[];
  readonly mode: Mode;
  readonly pending: number;
  /** Messages accepted, by mode and kind. */
  readonly messages: Record<Mode, Record<TrafficKind, number>>;
  /** Sum over group messages of the number of distinct owners of their recipients, by mode. */
  readonly groupOwners: Record<Mode, number>;
}

const MAX_MEMBERS = 1000;
const MAX_TEXT = 4096;

/** The answer to a send: every recipient once, by outcome. */
export interface Result {
  readonly id: string;
  readonly delivered: string[];
  /** Certainly not delivered, with the reason. */
  readonly failed: Array<{ user: string; reason: string }>;
  /** Maybe delivered: written or handed over, no acknowledgement in time. */
  readonly unknown: Array<{ user: string; reason: string }>;
}

export class Gateway {
  readonly id: string;
  readonly #o: GatewayOptions;
  readonly #server: Server;
  readonly #dispatchers = new Map<Mode, Dispatcher>();
  #router!: RingRouter;
  #coordinator!: RingCoordinator;
  #mode: Mode;
  #url = '';
  #checksum = { version: -1, value: '' };
  readonly #messages = { broadcast: { oneToOne: 0, group: 0 }, hash: { oneToOne: 0, group: 0 } };
  readonly #groupOwners = { broadcast: 0, hash: 0 };

  private constructor(options: GatewayOptions) {
    this.id = options.id;
    this.#o = options;
    this.#mode = options.mode ?? 'hash';
    const handler = handleJson((req, res) => this.#http(req, res));
    this.#server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    // Longer than the senders' idle keep-alive sockets live, so the server never closes one they are about to reuse.
    this.#server.keepAliveTimeout = 65_000;
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#proxy(req, socket, head));
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    gateway.#router = await RingRouter.start({ store: options.store, resyncMs: options.resyncMs ?? 500 });
    gateway.#router.on('error', (error) => options.log?.(`[${gateway.id}] ring error: ${error.message}`));
    gateway.#coordinator = await RingCoordinator.start({ membership: options.membership, store: options.store });
    gateway.#coordinator.on('error', (error) => options.log?.(`[${gateway.id}] coordinator error: ${error.message}`));
    // One dispatcher per mode (the mode can be switched at run time), each with its own reply address.
    for (const mode of MODES) {
      const dispatcher = await Dispatcher.start({
        id: `${gateway.id}:${mode}`, router: gateway.#router, transport: options.transport, mode, ttlMs: options.graceMs ?? DEFAULT_GRACE_MS,
      });
      dispatcher.on('error', (error) => options.log?.(`[${gateway.id}] dispatcher error: ${error.message}`));
      gateway.#dispatchers.set(mode, dispatcher);
    }
    const { host = '127.0.0.1', port = 0 } = options;
    await new Promise<void>((resolve) => gateway.#server.listen(port, host, resolve));
    const address = gateway.#server.address();
    if (address === null || typeof address === 'string') throw new Error('gateway did not get a TCP port');
    gateway.#url = `${options.tls ? 'https' : 'http'}://${host}:${address.port}`;
    return gateway;
  }

  /** `http://host:port` (`https://` with `tls`) */
  get url(): string {
    return this.#url;
  }

  set mode(mode: Mode) {
    this.#mode = mode;
  }

  stats(): GatewayStats {
    const ring = this.#router.ring;
    if (this.#checksum.version !== this.#router.version) {
      let hash = 0x811c9dc5; // FNV-1a over the owners of the probe keys
      if (ring.size > 0) {
        for (let i = 0; i < 1024; i++) {
          for (const ch of ring.lookup(`probe:${i}`).id + '\n') hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
        }
      }
      this.#checksum = { version: this.#router.version, value: hash.toString(16).padStart(8, '0') };
    }
    return {
      id: this.id,
      version: this.#router.version,
      checksum: this.#checksum.value,
      nodes: ring.nodes().map((n) => n.id),
      mode: this.#mode,
      pending: [...this.#dispatchers.values()].reduce((n, d) => n + d.inFlight, 0),
      messages: structuredClone(this.#messages),
      groupOwners: { ...this.#groupOwners },
    };
  }

  async close(): Promise<void> {
    for (const dispatcher of this.#dispatchers.values()) await dispatcher.close();
    await this.#coordinator.close();
    await this.#router.close();
    await this.#o.transport.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /route') {
      const user = url.searchParams.get('user');
      if (!isUserId(user)) throw new HttpError(400, 'user must be 1-64 characters of [A-Za-z0-9_.:-]');
      if (this.#router.ring.size === 0) throw new HttpError(503, 'no app node is up');
      const owner = this.#router.lookup(user);
      return sendJson(res, 200, { user, node: owner.id, url: owner.meta?.url ?? null, version: this.#router.version });
    }
    if (route === 'POST /send') {
      const body = await readJson(req);
      const from = userField(body.from, 'from');
      const to = userField(body.to, 'to');
      return sendJson(res, 200, await this.#accept(body, 'oneToOne', from, [to]));
    }
    const group = /^\/groups\/([\w.:-]{1,64})\/send$/.exec(url.pathname)?.[1];
    if (req.method === 'POST' && group !== undefined) {
      const body = await readJson(req);
      const from = userField(body.from, 'from');
      if (!Array.isArray(body.members) || body.members.length > MAX_MEMBERS) throw new HttpError(400, `members must be an array of at most ${MAX_MEMBERS} user ids`);
      const members = body.members.map((m) => userField(m, 'members[]'));
      const to = [...new Set(members)].filter((m) => m !== from); // the sender does not get its own message
      return sendJson(res, 200, await this.#accept(body, 'group', from, to, group));
    }
    if (route === 'GET /stats') return sendJson(res, 200, this.stats());
    if (route === 'POST /admin/mode') {
      const { mode } = await readJson(req);
      if (!MODES.includes(mode as Mode)) throw new HttpError(400, `mode must be one of ${MODES.join(', ')}`);
      this.#mode = mode as Mode;
      return sendJson(res, 200, { mode });
    }
    throw new HttpError(404, 'not found');
  }

  async #accept(body: Record<string, unknown>, kind: TrafficKind, from: string, to: string[], group?: string): Promise<Result> {
    if (typeof body.text !== 'string' || body.text.length > MAX_TEXT) throw new HttpError(400, `text must be a string of at most ${MAX_TEXT} characters`);
    // A client-chosen id makes a retried POST idempotent (and lets the load generator time deliveries).
    const id = body.id === undefined ? randomUUID() : typeof body.id === 'string' && /^[\w.:-]{1,80}$/.test(body.id) ? body.id : null;
    if (id === null) throw new HttpError(400, 'id must be 1-80 characters of [A-Za-z0-9_.:-]');
    const mode = this.#mode;
    this.#messages[mode][kind]++;
    if (kind === 'group' && this.#router.ring.size > 0) this.#groupOwners[mode] += groupByOwner(this.#router, to).size;
    const payload: ChatPayload = { kind, from, text: body.text, ...(group !== undefined ? { group } : {}) };
    let outcomes: DeliveryOutcome[];
    try {
      outcomes = await this.#dispatchers.get(mode)!.sendGroup(to, JSON.stringify(payload), { id });
    } catch (error) {
      if ((error as { code?: string }).code === 'OVERLOADED') throw new HttpError(503, (error as Error).message);
      throw error;
    }
    const result: Result = { id, delivered: [], failed: [], unknown: [] };
    for (const o of outcomes) {
      if (o.status === 'delivered') result.delivered.push(o.key);
      else if (o.status === 'failed') result.failed.push({ user: o.key, reason: o.reason });
      else result.unknown.push({ user: o.key, reason: o.reason });
    }
    return result;
  }

  /** Pipes the client's upgrade request to the owner's WebSocket server: one step, no second request. */
  #proxy(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    const user = url.searchParams.get('user');
    if (url.pathname !== '/ws' || !isUserId(user)) return void socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    const owner = this.#router.ring.size > 0 ? this.#router.lookup(user) : null;
    const target = owner?.meta?.url ? new URL(owner.meta.url) : null;
    if (owner === null || target === null) return void socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    let connected = false;
    upstream.on('error', () => {
      if (!connected) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.setNoDelay(true);
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push(`x-forwarded-for: ${req.socket.remoteAddress ?? ''}`, `x-ringroute-node: ${owner.id}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
  }
}

function userField(value: unknown, name: string): string {
  if (!isUserId(value)) throw new HttpError(400, `${name} must be a user id (1-64 characters of [A-Za-z0-9_.:-])`);
  return value;
}
