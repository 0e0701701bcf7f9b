/**
 * One app node of the proxy-gateway example: an HTTP server on 127.0.0.1
 * that answers a plain `GET /?user=ID` with its id (how the scenario probes
 * which node the proxy picks) and attaches WebSocket upgrades to a
 * `SessionNode` under the `user` parameter, on its own `RingRouter` with the
 * proxy's placement, over its own adapters (memory, or its own Redis
 * connection; it joins the membership once it listens).
 *
 * INSECURE LOCAL DEMO: it trusts `?user=ID` without authentication and
 * listens on 127.0.0.1 only.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Placement, RingRouter } from 'ringroute';
import { SessionNode, type SessionSocket } from 'ringroute/sessions';
import { type WebSocket, WebSocketServer } from 'ws';
import type { NodeAdapters } from './adapters.js';

/** A running app node. */
export class AppNode {
  readonly id: string;
  readonly router: RingRouter;
  readonly session: SessionNode;
  /** `127.0.0.1:port`: the node's `meta.server`, the address the proxy uses. */
  readonly server: string;
  /** Keys whose session this node closed with 4001 (moved), since the last {@link takeClosed}. */
  #closed: string[] = [];
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #adapters: NodeAdapters;
  #dead = false;
  /** Sessions per key attached here (a key may have several while a client reconnects). */
  readonly #keys = new Map<string, number>();

  private constructor(id: string, router: RingRouter, session: SessionNode, http: Server, wss: WebSocketServer, adapters: NodeAdapters) {
    this.id = id;
    this.router = router;
    this.session = session;
    this.#http = http;
    this.#wss = wss;
    this.#adapters = adapters;
    this.server = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  }

  static async start(id: string, adapters: NodeAdapters, placement: Placement, onError: (error: Error) => void): Promise<AppNode> {
    const router = await RingRouter.start({ store: adapters.store, placement });
    const session = await SessionNode.start({ id, router, transport: adapters.transport, maxClosesPerSecond: 5000 });
    const http = createServer((req, res) => {
      // The probe: which node did the proxy send this user to?
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(id) });
      res.end(id);
    });
    http.keepAliveTimeout = 10_000;
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const node = new AppNode(id, router, session, http, wss, adapters);
    const report = (error: Error): void => {
      if (!node.#dead) onError(error);
    };
    router.on('error', report);
    session.on('error', report);
    http.on('upgrade', (req, socket, head) => {
      // The key is the raw (percent-encoded) value, as the proxy hashes it.
      const key = /[?&]user=([^&]*)/.exec(req.url ?? '')?.[1] ?? '';
      if (key === '') {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => node.#attach(key, ws));
    });
    // Alive from now on: with Redis, a coordinator writes it into the store (the proxy's and every node's ring).
    await adapters.join({ id, meta: { server: node.server } });
    return node;
  }

  #attach(key: string, ws: WebSocket): void {
    ws.on('error', () => undefined);
    const socket: SessionSocket = {
      send: (text: string) => ws.send(text),
      close: (code: number, reason: string) => {
        if (code === 4001) this.#closed.push(key);
        ws.close(code, reason);
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const session = this.session.attach(key, socket);
    if (session === null) return;
    this.#keys.set(key, (this.#keys.get(key) ?? 0) + 1);
    ws.on('message', (data) => session.receive(data.toString()));
    ws.on('close', () => {
      session.detach();
      const left = (this.#keys.get(key) ?? 1) - 1;
      if (left === 0) this.#keys.delete(key);
      else this.#keys.set(key, left);
    });
  }

  /** Keys closed as moved since the last call. */
  takeClosed(): string[] {
    const out = this.#closed;
    this.#closed = [];
    return out;
  }

  /** Whether {@link kill} or {@link close} was called. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Keys with a session here now. */
  keys(): string[] {
    return [...this.#keys.keys()];
  }

  /** Sessions attached here now. */
  sessions(): number {
    return this.session.stats().sessions;
  }

  /** Dies abruptly: every socket reset, the port closed, the transport cut, no more heartbeats; nothing handed over. */
  async kill(): Promise<void> {
    this.#dead = true;
    for (const ws of this.#wss.clients) ws.terminate();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await this.router.close().catch(() => undefined);
    await this.#adapters.kill();
  }

  /** Graceful stop at the end of the run. */
  async close(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    await this.session.close().catch(() => undefined);
    for (const ws of this.#wss.clients) ws.terminate();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await this.router.close().catch(() => undefined);
    await this.#adapters.close();
  }
}
