/**
 * An app node: holds users' WebSocket sessions, delivers messages to them,
 * and hands users over when the ring changes.
 *
 * It joins membership with its URL in `meta`, follows the ring with a
 * RingRouter, and listens on the transport (the broadcast channel and its
 * own). A message sent to a session stays "in flight" until the client acks
 * it; if the session closes first, it goes back to the courier (courier.ts),
 * which also holds messages for users it owns who are not connected yet and
 * forwards those for users owned elsewhere. On a ring change the strategy
 * decides which sessions to close: `selective` exactly those that
 * `diff.movedKeys()` names, `reconnect-all` every one.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type Membership, type MembershipAdapter, type RingDiff, type RingNode, RingRouter, type RingStore } from 'ringroute';
import { WebSocket, WebSocketServer } from 'ws';
import { Courier } from './courier.js';
import type { HeldMessage, HoldQueueOptions } from './hold-queue.js';
import { HttpError, handleJson, readJson, sendJson } from './http.js';
import { CLOSE_MOVED, type Channels, type ClientFrame, STRATEGIES, type ServerFrame, type Strategy, type TrafficKind, isUserId } from './protocol.js';
import type { Transport } from './transport.js';

export interface AppNodeOptions {
  readonly id: string;
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  readonly transport: Transport;
  readonly channels: Channels;
  /** @default 'selective' */
  readonly strategy?: Strategy;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default 500 */
  readonly resyncMs?: number;
  readonly hold?: HoldQueueOptions;
  readonly log?: (line: string) => void;
}

/** Counters a node exposes at `GET /stats`. */
export interface NodeStats {
  readonly id: string;
  readonly version: number;
  readonly strategy: Strategy;
  readonly sessions: number;
  readonly held: number;
  /** Deliveries this node received (node visits), by traffic kind. */
  readonly visits: Record<TrafficKind, number>;
  /** Sessions this node closed because the ring changed. */
  readonly sessionsMoved: number;
  readonly acked: number;
  readonly forwarded: number;
  readonly failed: number;
}

interface Session {
  readonly user: string;
  readonly socket: WebSocket;
  /** Sent to the socket, not acked yet, by message id. */
  readonly inflight: Map<string, HeldMessage>;
}

export class AppNode {
  readonly id: string;
  readonly #o: AppNodeOptions;
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  readonly #sessions = new Map<string, Session>();
  readonly #courier: Courier;
  #router!: RingRouter;
  #member: (Membership & { abandon?(): void }) | undefined;
  #unwatch: (() => void) | undefined;
  #strategy: Strategy;
  #url = '';
  #stopped = false;
  #sessionsMoved = 0;

  private constructor(options: AppNodeOptions) {
    this.id = options.id;
    this.#o = options;
    this.#strategy = options.strategy ?? 'selective';
    this.#courier = new Courier(
      { id: this.id, deliverLocal: (message) => this.#deliverLocal(message), owner: (user) => this.#owner(user)?.id ?? null },
      options.transport,
      options.channels,
      options.hold,
    );
    this.#server = createServer(handleJson((req, res) => this.#http(req.method ?? '', req.url ?? '', req, res)));
    this.#server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://node');
      const user = url.searchParams.get('user');
      if (url.pathname !== '/ws' || !isUserId(user)) return void socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, user));
    });
  }

  /** Listens, follows the ring, subscribes to the transport, then joins membership. */
  static async start(options: AppNodeOptions): Promise<AppNode> {
    const node = new AppNode(options);
    const { host = '127.0.0.1', port = 0 } = options;
    await new Promise<void>((resolve) => node.#server.listen(port, host, resolve));
    const address = node.#server.address();
    if (address === null || typeof address === 'string') throw new Error('node did not get a TCP port');
    node.#url = `ws://${host}:${address.port}`;
    node.#router = await RingRouter.start({ store: options.store, resyncMs: options.resyncMs ?? 500 });
    node.#router.on('change', (diff) => node.#onRingChange(diff));
    node.#router.on('error', (error) => node.#log(`ring error: ${error.message}`));
    await options.transport.subscribe(options.channels.all, (m) => node.#courier.receive(m, true));
    await options.transport.subscribe(options.channels.node(node.id), (m) => node.#courier.receive(m, false));
    node.#member = await options.membership.join(node.#self());
    return node;
  }

  /** `ws://host:port`; the same port serves `GET /stats`. */
  get url(): string {
    return this.#url;
  }

  set strategy(strategy: Strategy) {
    this.#strategy = strategy;
  }

  stats(): NodeStats {
    const c = this.#courier.counts;
    return {
      id: this.id,
      version: this.#router.version,
      strategy: this.#strategy,
      sessions: this.#sessions.size,
      held: this.#courier.held,
      visits: { ...c.visits },
      sessionsMoved: this.#sessionsMoved,
      acked: c.acked,
      forwarded: c.forwarded,
      failed: c.failed,
    };
  }

  /** Graceful shutdown: leave, hand every session and held message to the new owners, then close. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.#member?.leave();
    const deadline = Date.now() + 5000;
    while (this.#router.ring.has(this.id) && Date.now() < deadline) await sleep(20);
    this.#moveSessions([...this.#sessions.keys()]); // whatever is left goes too
    this.#courier.sweep();
    await sleep(200); // let the last forwards and outcomes go out
    await this.#shutdown();
  }

  /** Dies abruptly, as a crashed process: sockets reset, nothing handed over, membership expires later. */
  async kill(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#member?.abandon?.();
    this.#courier.stop(true);
    for (const session of this.#sessions.values()) session.inflight.clear();
    for (const client of this.#wss.clients) client.terminate();
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    this.#courier.stop();
    await this.#o.transport.close();
    await this.#router.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #self(): RingNode {
    return { id: this.id, meta: { url: this.#url } };
  }

  async #http(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'GET' && path === '/stats') return sendJson(res, 200, this.stats());
    if (method === 'POST' && path === '/admin/strategy') {
      const { strategy } = await readJson(req);
      if (!STRATEGIES.includes(strategy as Strategy)) throw new HttpError(400, `strategy must be one of ${STRATEGIES.join(', ')}`);
      this.#strategy = strategy as Strategy;
      return sendJson(res, 200, { strategy });
    }
    throw new HttpError(404, 'not found');
  }

  #open(socket: WebSocket, user: string): void {
    socket.on('error', () => undefined);
    const owner = this.#owner(user);
    if (this.#stopped || owner?.id !== this.id) {
      // A gateway with an older ring (or a client with an old URL) sent the user here.
      this.#send(socket, { type: 'move', node: owner?.id ?? '', url: owner?.meta?.url ?? '' });
      return socket.close(CLOSE_MOVED, 'not the owner');
    }
    const session: Session = { user, socket, inflight: new Map() };
    const previous = this.#sessions.get(user);
    this.#sessions.set(user, session);
    previous?.socket.close(CLOSE_MOVED, 'replaced'); // its in-flight messages come back through #close
    socket.on('message', (data) => this.#onFrame(session, String(data)));
    socket.on('close', () => this.#close(session));
    this.#send(socket, { type: 'welcome', node: this.id });
    for (const message of this.#courier.takeHeld(user)) this.#deliverLocal(message);
  }

  #close(session: Session): void {
    if (this.#sessions.get(session.user) === session) this.#sessions.delete(session.user);
    if (this.#stopped) return;
    const unacked = [...session.inflight.values()];
    session.inflight.clear();
    for (const message of unacked) this.#courier.route(message);
  }

  #onFrame(session: Session, text: string): void {
    let frame: ClientFrame;
    try {
      frame = JSON.parse(text) as ClientFrame;
    } catch {
      return;
    }
    if (frame.type !== 'ack' || typeof frame.id !== 'string') return;
    const message = session.inflight.get(frame.id);
    if (message === undefined) return; // a duplicate ack
    session.inflight.delete(frame.id);
    this.#courier.acked(message);
  }

  #deliverLocal(message: HeldMessage): boolean {
    const session = this.#sessions.get(message.user);
    if (session === undefined) return false;
    const d = message.delivery;
    session.inflight.set(d.id, message);
    this.#send(session.socket, { type: 'msg', id: d.id, from: d.from, to: message.user, text: d.text, ...(d.group ? { group: d.group } : {}) });
    return true;
  }

  /** Applies the strategy: `selective` moves exactly the sessions whose owner changed, `reconnect-all` every one. */
  #onRingChange(diff: RingDiff): void {
    if (this.#stopped) return;
    const local = [...this.#sessions.keys()];
    this.#moveSessions(this.#strategy === 'selective' ? diff.movedKeys(local).map((m) => m.key) : diff.ranges.length > 0 ? local : []);
    this.#courier.sweep();
  }

  /** Tells each client where to go and closes its session; its unacked messages follow the user at once. */
  #moveSessions(users: readonly string[]): void {
    for (const user of users) {
      const session = this.#sessions.get(user);
      if (session === undefined) continue;
      this.#sessions.delete(user);
      this.#sessionsMoved++;
      const owner = this.#owner(user);
      this.#send(session.socket, { type: 'move', node: owner?.id ?? '', url: owner?.meta?.url ?? '' });
      session.socket.close(CLOSE_MOVED, 'moved');
      setTimeout(() => session.socket.terminate(), 2000).unref(); // a client that never answers the close
      const unacked = [...session.inflight.values()];
      session.inflight.clear();
      for (const message of unacked) this.#courier.route(message);
    }
  }

  #owner(user: string): RingNode | null {
    try {
      return this.#router.ring.size === 0 ? null : this.#router.lookup(user);
    } catch {
      return null;
    }
  }

  #send(socket: WebSocket, frame: ServerFrame): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  #log(line: string): void {
    this.#o.log?.(`[${this.id}] ${line}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
