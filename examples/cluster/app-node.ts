/**
 * An app node: a thin user of `ringroute/sessions`. It serves WebSockets at
 * `/ws?user=ID`, attaches each one to a SessionNode (which refuses users
 * owned elsewhere, hands sessions over on ring changes, holds and forwards
 * messages and reports their outcomes), joins membership with its URL in
 * `meta`, and exposes its counters at `GET /stats`.
 *
 * Nodes trust no one: a direct connection (the two-step connect, or an
 * attacker skipping the gateway) must carry a valid token whose `sub` is the
 * `user` parameter, checked here again with `ringroute/gateway`'s JWT
 * verifier; the SessionNode then refuses users this node does not own
 * (close 4002, naming the owner). Every upgrade first passes a
 * `HandshakeGate` (`ringroute/sessions`): at most 64 handshakes (token check,
 * `ws` upgrade, attach) at once, a bounded queue, and the node's open
 * connections kept inside its descriptor budget; the rest are answered 503
 * with `Retry-After` before any expensive work, and counted in `/stats`.
 * `/stats`, `/admin/strategy` and `/admin/pace` live on a
 * separate admin port, behind the admin token; `GET /healthz` is open on
 * both ports.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Membership, type MembershipAdapter, type RingNode, RingRouter, type RingStore, type Transport } from 'ringroute';
import { type Authenticate, createJwtAuthenticator, gatewayServerOptions } from 'ringroute/gateway';
import { HandshakeGate, type HandshakeGateStats, MAX_CLIENT_FRAME, SessionNode } from 'ringroute/sessions';
import { WebSocketServer } from 'ws';
import { isAdmin } from './auth.js';
import { HttpError, handleJson, readJson, sendJson } from './http.js';
import { type ProcessFigures, processFigures } from './process-stats.js';
import { STRATEGIES, type Strategy, type TrafficKind, isUserId } from './protocol.js';
import { CountingTransport } from './transport.js';

export interface AppNodeOptions {
  readonly id: string;
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  readonly transport: Transport;
  /** HS256 secret of the user tokens. Required unless `insecure`. */
  readonly secret?: string;
  /** Local demo only: trust `?user=` without a token. */
  readonly insecure?: boolean;
  /** Bearer token of `/stats`, `/admin/strategy` and `/admin/pace`. */
  readonly adminToken: string;
  /** @default 'selective' */
  readonly strategy?: Strategy;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Admin port (`/stats`, `/admin/strategy`, `/admin/pace`), on `host`. @default 0 (any free port) */
  readonly adminPort?: number;
  /** @default 500 */
  readonly resyncMs?: number;
  /** Pace of the "moved" closes a ring change causes (SessionNode's `maxClosesPerSecond`). @default 1000 */
  readonly maxClosesPerSecond?: number;
  /**
   * Told when this node starts or stops serving a user (a session attached,
   * or its socket closed) and when it fences or unfences itself: the
   * chaos runner (examples/chaos) logs these to measure double ownership.
   */
  readonly onOwnership?: (event: OwnershipEvent) => void;
  readonly log?: (line: string) => void;
}

/** What {@link AppNodeOptions.onOwnership} is told. */
export type OwnershipEvent = { readonly kind: 'attach' | 'close'; readonly user: string } | { readonly kind: 'fence' | 'unfence' };

/** Counters a node exposes at `GET /stats`. */
export interface NodeStats {
  readonly id: string;
  readonly version: number;
  readonly strategy: Strategy;
  /** Pace of the "moved" closes (`POST /admin/pace` changes it). */
  readonly closesPerSecond: number;
  readonly sessions: number;
  readonly held: number;
  /** Deliveries this node received (node visits), by traffic kind. */
  readonly visits: Record<TrafficKind, number>;
  /** Sessions this node closed because the ring changed. */
  readonly sessionsMoved: number;
  /** Sessions still waiting for their paced "moved" close. */
  readonly pendingCloses: number;
  readonly acked: number;
  readonly forwarded: number;
  readonly failed: number;
  /** Sessions closed because their client stopped reading or acknowledging (4003). */
  readonly slowConsumers: number;
  /** Whether the node is fenced now (its membership lease ran out). */
  readonly fenced: boolean;
  /** Times this node fenced itself (its membership lease ran out), and sessions a fence closed (4006). */
  readonly fences: number;
  readonly fencedCloses: number;
  /** The handshake gate: in progress, queued, refused (503) by reason, abandoned, accepts that failed for lack of descriptors. */
  readonly handshakes: Omit<HandshakeGateStats, 'budget'>;
  /** Upgrades refused before the gate's work: bad request (400), no valid token (401), token of another user (403). */
  readonly refused: { readonly 400: number; readonly 401: number; readonly 403: number; readonly 500: number };
  /** The node's process (shared with the other parts in memory mode). */
  readonly process: ProcessFigures;
}

/**
 * Unacknowledged messages a session may have before its node closes it as a
 * slow consumer (4003). A chat client acknowledges each message within
 * milliseconds and gets a few a second at most: 64 leaves ample room, and a
 * client that stops reading is cut off after 64 messages instead of the
 * library's 1024 (which suits bulk feeds).
 */
export const MAX_UNACKED_PER_SESSION = 64;

export class AppNode {
  readonly id: string;
  readonly #o: AppNodeOptions;
  readonly #server: Server;
  readonly #admin: Server;
  // Client frames over MAX_CLIENT_FRAME are a protocol error anyway: refuse them before buffering.
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME * 4 });
  #authenticate: Authenticate | null = null;
  // A handshake waits at most 1.5 s for a slot, then gets 503 with Retry-After: shorter than the gateways'
  // 2 s connect timeout (scenario.ts), so a proxied user is told to come back later by the node rather
  // than 502 "the owner did not answer" by its gateway (a failure, retried with no Retry-After).
  readonly #gate = new HandshakeGate({ queueTimeoutMs: 1500 });
  readonly #refused = { 400: 0, 401: 0, 403: 0, 500: 0 };
  readonly #transport: CountingTransport;
  #router!: RingRouter;
  #node!: SessionNode;
  #member: (Membership & { abandon?(): void }) | undefined;
  #url = '';
  #adminUrl = '';
  #stopped = false;

  private constructor(options: AppNodeOptions) {
    this.id = options.id;
    this.#o = options;
    this.#transport = new CountingTransport(options.transport);
    this.#server = createServer(gatewayServerOptions(), handleJson(async (req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') return sendJson(res, 200, { ok: true, id: this.id });
      throw new HttpError(404, 'not found');
    }));
    this.#admin = createServer(gatewayServerOptions(), handleJson((req, res) => this.#http(req.method ?? '', req.url ?? '', req, res)));
    this.#server.on('clientError', (_error, socket) => socket.destroy());
    this.#gate.watch(this.#server); // accepts failing for lack of descriptors are counted, not fatal
    this.#gate.on('error', (error) => this.#log(`handshakes: ${error.message}`));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      // Admitted before the token check: that and ws's upgrade are the expensive part a storm must queue for.
      this.#gate.admit(socket, (done) => {
        this.#upgrade(req, socket, head, done).catch(() => {
          this.#refuse(socket, 500);
          done();
        });
      });
    });
  }

  /** The handshake proper; calls `done` (the gate's slot) once it ended, however it ended. */
  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, done: () => void): Promise<void> {
    const refuse = (status: 400 | 401 | 403): void => {
      this.#refuse(socket, status);
      done();
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://node');
    } catch {
      return refuse(400);
    }
    const user = url.searchParams.get('user');
    if (url.pathname !== '/ws' || !isUserId(user)) return refuse(400);
    if (this.#authenticate !== null) {
      let sub: string | null | undefined = null;
      try {
        sub = await this.#authenticate(req);
      } catch {
        sub = null;
      }
      if (sub === null || sub === undefined) return refuse(401);
      if (sub !== user) return refuse(403);
    }
    if (socket.destroyed) return done();
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      done();
      ws.on('error', () => undefined); // 'close' follows
      const session = this.#node.attach(user, ws); // null: not ours, closed with 4002 naming the owner
      if (session === null) return;
      const ownership = this.#o.onOwnership;
      ownership?.({ kind: 'attach', user });
      ws.on('message', (data) => session.receive(data));
      ws.on('close', () => {
        session.detach();
        ownership?.({ kind: 'close', user });
      });
    });
  }

  #refuse(socket: Duplex, status: 400 | 401 | 403 | 500): void {
    this.#refused[status]++;
    refuse(socket, status);
  }

  /** Listens, follows the ring, starts the session node, then joins membership. */
  static async start(options: AppNodeOptions): Promise<AppNode> {
    const node = new AppNode(options);
    if (options.insecure !== true) node.#authenticate = await createJwtAuthenticator({ secret: options.secret ?? '' });
    const { host = '127.0.0.1', port = 0 } = options;
    await new Promise<void>((resolve) => node.#server.listen(port, host, resolve));
    const address = node.#server.address();
    if (address === null || typeof address === 'string') throw new Error('node did not get a TCP port');
    node.#url = `ws://${host}:${address.port}`;
    await new Promise<void>((resolve) => node.#admin.listen(options.adminPort ?? 0, host, resolve));
    const adminAddress = node.#admin.address();
    if (adminAddress === null || typeof adminAddress === 'string') throw new Error('node did not get an admin port');
    node.#adminUrl = `http://${host}:${adminAddress.port}`;
    node.#router = await RingRouter.start({ store: options.store, resyncMs: options.resyncMs ?? 500 });
    node.#router.on('error', (error) => node.#log(`ring error: ${error.message}`));
    node.#node = await SessionNode.start({
      id: node.id, router: node.#router, transport: node.#transport, strategy: options.strategy ?? 'selective', maxInFlightPerSession: MAX_UNACKED_PER_SESSION,
      ...(options.maxClosesPerSecond !== undefined ? { maxClosesPerSecond: options.maxClosesPerSecond } : {}),
    });
    node.#node.on('error', (error) => node.#log(`sessions: ${error.message}`));
    node.#member = await options.membership.join(node.#self());
    // Self-fencing: cut off from the store for longer than its lease, the node stops acting as an owner before the
    // ring can give its users to another node (docs/sessions.md, "Self-fencing"); in memory the lease never runs out.
    if (node.#member.lease !== undefined) {
      node.#node.followLease(node.#member);
      node.#node.on('fence', () => node.#log('membership lease ran out: fenced (accepting and delivering nothing until it is back)'));
      node.#node.on('unfence', (r) => node.#log(`lease back after ${r.fencedMs} ms fenced, ${r.sessionsClosed} sessions closed`));
      node.#node.on('fence', () => options.onOwnership?.({ kind: 'fence' }));
      node.#node.on('unfence', () => options.onOwnership?.({ kind: 'unfence' }));
    }
    return node;
  }

  /** `ws://host:port`: WebSockets at `/ws`, and `GET /healthz`. */
  get url(): string {
    return this.#url;
  }

  /** `http://host:port` of the admin port: `GET /stats`, `POST /admin/strategy`, `POST /admin/pace` (admin token). */
  get adminUrl(): string {
    return this.#adminUrl;
  }

  stats(): NodeStats {
    const s = this.#node.stats();
    return {
      id: this.id,
      version: this.#router.version,
      strategy: this.#node.strategy,
      closesPerSecond: this.#node.maxClosesPerSecond,
      sessions: s.sessions,
      held: s.held,
      visits: { ...this.#transport.visits },
      sessionsMoved: s.moved,
      pendingCloses: s.pendingCloses,
      acked: s.delivered,
      forwarded: s.forwarded,
      failed: s.failed,
      slowConsumers: s.slowConsumers,
      fenced: s.fenced,
      fences: s.fences,
      fencedCloses: s.fencedCloses,
      handshakes: (({ budget: _, ...rest }) => rest)(this.#gate.stats()),
      refused: { ...this.#refused },
      process: processFigures(),
    };
  }

  /** Graceful shutdown: leave, let the ring change move every session to its new owner (paced), then hand over what is held. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#member?.leave();
    const deadline = Date.now() + 5000;
    while ((this.#router.ring.has(this.id) || this.#node.size > 0) && Date.now() < deadline) await sleep(20);
    await this.#shutdown();
  }

  /** Whole-cluster shutdown: leave membership, then close every session with 4005 (going away) and fail what is held (`closed`). */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#member?.leave();
    await this.#shutdown();
  }

  /** Dies abruptly, as a crashed process: sockets reset, nothing handed over, membership expires later. */
  async kill(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#member?.abandon?.();
    for (const client of this.#wss.clients) client.terminate();
    await this.#o.transport.close(); // nothing it held reaches anyone: the senders' retries recover it
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#gate.close();
    await this.#node.close();
    await this.#o.transport.close();
    await this.#router.close();
    for (const server of [this.#server, this.#admin]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  #self(): RingNode {
    return { id: this.id, meta: { url: this.#url } };
  }

  async #http(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true, id: this.id });
    if (!isAdmin(req, this.#o.adminToken)) throw new HttpError(401, 'the admin token is required');
    if (method === 'GET' && path === '/stats') return sendJson(res, 200, this.stats());
    if (method === 'POST' && path === '/admin/strategy') {
      const { strategy } = await readJson(req);
      if (!STRATEGIES.includes(strategy as Strategy)) throw new HttpError(400, `strategy must be one of ${STRATEGIES.join(', ')}`);
      this.#node.strategy = strategy as Strategy;
      return sendJson(res, 200, { strategy });
    }
    if (method === 'POST' && path === '/admin/pace') {
      const { closesPerSecond } = await readJson(req);
      if (typeof closesPerSecond !== 'number' || !Number.isFinite(closesPerSecond) || closesPerSecond <= 0 || closesPerSecond > 1_000_000) {
        throw new HttpError(400, 'closesPerSecond must be a number in (0, 1000000]');
      }
      this.#node.maxClosesPerSecond = closesPerSecond;
      return sendJson(res, 200, { closesPerSecond });
    }
    throw new HttpError(404, 'not found');
  }

  #log(line: string): void {
    this.#o.log?.(`[${this.id}] ${line}`);
  }
}

function refuse(socket: Duplex, status: 400 | 401 | 403 | 500): void {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error' }[status];
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
