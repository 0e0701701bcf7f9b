/**
 * The gateway: the one address clients and senders know, built on
 * `ringroute/gateway`.
 *
 * It keeps the ring with a RingRouter and writes membership into the store
 * with a RingCoordinator (every gateway can run one). Its public port serves
 * a GatewayHandler: `GET /route?user=ID` (the article's two-step connect),
 * the WebSocket upgrade at `/ws?user=ID&token=JWT` proxied to the owner in
 * one step, and `POST /send`, `POST /groups/:id/send` (sender from the
 * token), sent with a `ringroute/sessions` Dispatcher in `broadcast` or
 * `hash` mode; plus an open `GET /healthz`. Every request is authenticated
 * with a JWT (HS256, the cluster's secret) unless the gateway is started
 * `insecure`. Stats and the mode switch live on a separate admin port,
 * behind the admin token; more admin routes can be mounted with
 * {@link Gateway.addAdminRoute}.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { type MembershipAdapter, RingCoordinator, RingRouter, type RingStore, type Transport, groupByOwner } from 'ringroute';
import { type GatewayHandlerStats, type GatewayLimits, GatewayHandler, type SendResult, createJwtAuthenticator, gatewayServerOptions } from 'ringroute/gateway';
import { Dispatcher, type SendOptions } from 'ringroute/sessions';
import { isAdmin } from './auth.js';
import { type ProcessFigures, processFigures } from './process-stats.js';
import { HttpError, handleJson, readJson, sendJson } from './http.js';
import { DEFAULT_GRACE_MS, MODES, type Mode, type TrafficKind } from './protocol.js';

export interface GatewayOptions {
  readonly id: string;
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  readonly transport: Transport;
  /** HS256 secret of the user tokens (at least 32 characters). Required unless `insecure`. */
  readonly secret?: string;
  /** Local demo only: trust `?user=` and the body's `from` without a token. */
  readonly insecure?: boolean;
  /** Bearer token of the admin port. */
  readonly adminToken: string;
  /** @default 'hash' */
  readonly mode?: Mode;
  /** How long a message may wait for a moving or reconnecting user. @default 10000 */
  readonly graceMs?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Admin port (stats, mode). @default 0 (any free port) */
  readonly adminPort?: number;
  /** @default '127.0.0.1' */
  readonly adminHost?: string;
  /** Limits of `ringroute/gateway` (its defaults otherwise). */
  readonly limits?: GatewayLimits;
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

/** What `GET /stats` on the admin port returns. */
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
  /** The handler's tunnels, deliveries in flight and refusals by reason. */
  readonly gateway: GatewayHandlerStats;
  /** Heap in use, in bytes. */
  readonly heapUsed: number;
  /** The gateway's process (shared with the other parts in memory mode). */
  readonly process: ProcessFigures;
}

/** The answer to a send (from `ringroute/gateway`). */
export type Result = SendResult;

/** An admin route: answers the request (the admin token was already checked). */
export type AdminRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export class Gateway {
  readonly id: string;
  readonly #o: GatewayOptions;
  readonly #server: Server;
  readonly #admin: Server;
  readonly #adminRoutes = new Map<string, AdminRoute>();
  readonly #dispatchers = new Map<Mode, Dispatcher>();
  #handler!: GatewayHandler;
  #router!: RingRouter;
  #coordinator!: RingCoordinator;
  #mode: Mode;
  #url = '';
  #adminUrl = '';
  #closed = false;
  #checksum = { version: -1, value: '' };
  readonly #messages = { broadcast: { oneToOne: 0, group: 0 }, hash: { oneToOne: 0, group: 0 } };
  readonly #groupOwners = { broadcast: 0, hash: 0 };

  private constructor(options: GatewayOptions) {
    this.id = options.id;
    this.#o = options;
    this.#mode = options.mode ?? 'hash';
    const serverOptions = gatewayServerOptions(options.limits);
    const publicHandler = (req: IncomingMessage, res: ServerResponse) => this.#public(req, res);
    this.#server = options.tls ? createTlsServer({ ...options.tls, ...serverOptions }, publicHandler) : createServer(serverOptions, publicHandler);
    this.#server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => this.#handler.handleUpgrade(req, socket, head));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
    this.#admin = createServer(serverOptions, handleJson((req, res) => this.#adminRequest(req, res)));
    this.addAdminRoute('GET', '/stats', (_req, res) => sendJson(res, 200, this.stats()));
    this.addAdminRoute('POST', '/admin/mode', async (req, res) => {
      const { mode } = await readJson(req);
      if (!MODES.includes(mode as Mode)) throw new HttpError(400, `mode must be one of ${MODES.join(', ')}`);
      this.#mode = mode as Mode;
      sendJson(res, 200, { mode });
    });
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    const log = (line: string) => options.log?.(`[${gateway.id}] ${line}`);
    gateway.#router = await RingRouter.start({ store: options.store, resyncMs: options.resyncMs ?? 500 });
    gateway.#router.on('error', (error) => log(`ring error: ${error.message}`));
    gateway.#coordinator = await RingCoordinator.start({ membership: options.membership, store: options.store });
    gateway.#coordinator.on('error', (error) => log(`coordinator error: ${error.message}`));
    // One dispatcher per mode (the mode can be switched at run time), each with its own reply address.
    for (const mode of MODES) {
      const dispatcher = await Dispatcher.start({
        id: `${gateway.id}:${mode}`, router: gateway.#router, transport: options.transport, mode, ttlMs: options.graceMs ?? DEFAULT_GRACE_MS,
      });
      dispatcher.on('error', (error) => log(`dispatcher error: ${error.message}`));
      gateway.#dispatchers.set(mode, dispatcher);
    }
    const auth = options.insecure === true ? { insecure: true } : { authenticate: await createJwtAuthenticator({ secret: options.secret ?? '' }) };
    gateway.#handler = new GatewayHandler({
      router: gateway.#router,
      dispatcher: { sendGroup: (to, data, send) => gateway.#sendGroup(to, data, send) },
      ...auth,
      ...(options.limits ? { limits: options.limits } : {}),
    });
    gateway.#handler.on('error', (error) => log(`gateway: ${error.message}`));
    // Keeps the public server inside the descriptor budget (maxConnections) and counts accepts that fail with EMFILE.
    gateway.#handler.watch(gateway.#server);
    const host = options.host ?? '127.0.0.1';
    const adminHost = options.adminHost ?? '127.0.0.1';
    const port = await listen(gateway.#server, options.port ?? 0, host);
    const adminPort = await listen(gateway.#admin, options.adminPort ?? 0, adminHost);
    gateway.#url = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
    gateway.#adminUrl = `http://${adminHost}:${adminPort}`;
    return gateway;
  }

  /** `http://host:port` (`https://` with `tls`): the public port. */
  get url(): string {
    return this.#url;
  }

  /** `http://host:port` of the admin port. */
  get adminUrl(): string {
    return this.#adminUrl;
  }

  set mode(mode: Mode) {
    this.#mode = mode;
  }

  /** Mounts a route on the admin port, behind the admin token (`GET /healthz` stays open). */
  addAdminRoute(method: string, path: string, route: AdminRoute): void {
    this.#adminRoutes.set(`${method.toUpperCase()} ${path}`, route);
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
      gateway: this.#handler.stats(),
      heapUsed: process.memoryUsage().heapUsed,
      process: processFigures(),
    };
  }

  /**
   * First half of a cluster shutdown: stop taking requests and give every
   * pending send its outcome, keeping the open WebSockets so the nodes can
   * close them with 4005 (going away).
   */
  async drain(): Promise<void> {
    this.#handler.close({ keepTunnels: true });
    for (const dispatcher of this.#dispatchers.values()) await dispatcher.close();
  }

  /** Stops taking requests, gives the sends in flight their outcomes, then closes everything. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.drain();
    this.#handler.close();
    await this.#coordinator.close();
    await this.#router.close();
    await this.#o.transport.close();
    for (const server of [this.#server, this.#admin]) {
      // Let the answers just given reach their clients, then cut what is left.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(timer);
    }
  }

  #public(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && req.url === '/healthz') return sendJson(res, 200, { ok: true, id: this.id });
    if (!this.#handler.handleRequest(req, res)) sendJson(res, 404, { error: 'not found' });
  }

  async #adminRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true, id: this.id });
    if (!isAdmin(req, this.#o.adminToken)) throw new HttpError(401, 'the admin token is required');
    const route = this.#adminRoutes.get(`${req.method} ${path}`);
    if (route === undefined) throw new HttpError(404, 'not found');
    await route(req, res);
  }

  /** The handler's dispatcher: the current mode's, counting messages and group owners for the report. */
  #sendGroup(to: readonly string[], data: string, options?: SendOptions) {
    const mode = this.#mode;
    const kind = (JSON.parse(data) as { kind: TrafficKind }).kind;
    this.#messages[mode][kind]++;
    if (kind === 'group' && this.#router.ring.size > 0) this.#groupOwners[mode] += groupByOwner(this.#router, to).size;
    return this.#dispatchers.get(mode)!.sendGroup(to, data, options);
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP port'));
      else resolve(address.port);
    });
  });
}
