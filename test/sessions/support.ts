/**
 * A small cluster for the session tests: real `ws` servers on loopback, one
 * SessionNode per server, routers over one MemoryRingStore and nodes over one
 * MemoryTransport (or the transport the test gives), and SessionClients.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { MemoryRingStore } from '../../src/adapters/memory/ring-store.js';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { SessionClient, type SessionClientOptions, type WebSocketConstructor } from '../../src/client/index.js';
import type { Transport } from '../../src/live/transport.js';
import { RingRouter } from '../../src/live/router.js';
import type { RingNode } from '../../src/ring/types.js';
import { Dispatcher, type DispatcherOptions, SessionNode, type SessionNodeOptions } from '../../src/sessions/index.js';
import { waitFor } from '../support/wait.js';

export interface TestNode {
  readonly id: string;
  readonly url: string;
  readonly node: SessionNode;
  readonly router: RingRouter;
  readonly wss: WebSocketServer;
  readonly errors: Error[];
}

export type NodeOptions = Partial<Omit<SessionNodeOptions, 'id' | 'router' | 'transport'>>;

export class TestCluster {
  readonly store = new MemoryRingStore();
  readonly #make: () => Transport;
  readonly nodes = new Map<string, TestNode>();
  readonly clients: SessionClient[] = [];
  readonly #closers: Array<() => Promise<void>> = [];

  /** `makeTransport` gives each node and dispatcher its own handle (default: handles on one MemoryTransport). */
  constructor(makeTransport?: () => Transport) {
    const bus = new MemoryTransport();
    this.#make = makeTransport ?? (() => bus.connect());
  }

  /** A new transport handle, closed with the cluster. */
  transport(): Transport {
    const transport = this.#make();
    this.#closers.push(() => transport.close());
    return transport;
  }

  /** Starts a node's server and SessionNode (not on the ring yet). */
  async startNode(id: string, options: NodeOptions = {}, transport: Transport = this.transport()): Promise<TestNode> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const router = await RingRouter.start({ store: this.store.connect(), resyncMs: 200 });
    const node = await SessionNode.start({ id, router, transport, pingIntervalMs: 0, ...options });
    const errors: Error[] = [];
    node.on('error', (e) => errors.push(e));
    wss.on('connection', (ws, req) => {
      const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
      const session = node.attach(key, ws);
      if (session === null) return;
      ws.on('message', (data) => session.receive(data));
      ws.on('close', () => session.detach());
    });
    const entry: TestNode = { id, url, node, router, wss, errors };
    this.nodes.set(id, entry);
    this.#closers.push(async () => {
      await node.close();
      await router.close();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
    return entry;
  }

  /** Puts exactly `ids` on the ring and waits until every started router applied it. */
  async setRing(ids: readonly string[]): Promise<number> {
    const nodes: RingNode[] = ids.map((id) => ({ id, meta: { url: this.nodes.get(id)!.url } }));
    const current = await this.store.read();
    const state = await this.store.compareAndSet(current?.version ?? 0, nodes);
    const version = state!.version;
    await waitFor(() => [...this.nodes.values()].every((n) => n.router.version >= version), { what: `routers at ring version ${version}` });
    return version;
  }

  async router(): Promise<RingRouter> {
    const router = await RingRouter.start({ store: this.store.connect(), resyncMs: 200 });
    this.#closers.push(() => router.close());
    return router;
  }

  async dispatcher(options: Partial<DispatcherOptions> = {}, transport: Transport = this.transport()): Promise<Dispatcher> {
    const router = await this.router();
    const dispatcher = await Dispatcher.start({ id: `d-${Math.random().toString(36).slice(2, 8)}`, router, transport, ...options });
    this.#closers.push(() => dispatcher.close());
    return dispatcher;
  }

  /** A started client for `key`, connecting first to `via` (a node id). */
  client(key: string, via: string, options: Partial<SessionClientOptions> = {}): SessionClient {
    const client = new SessionClient({
      url: `${this.nodes.get(via)!.url}/ws?key=${encodeURIComponent(key)}`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoffMs: 20,
      maxBackoffMs: 200,
      moveJitterMs: 20,
      ...options,
    });
    client.on('error', () => undefined);
    this.clients.push(client);
    client.start();
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    for (const close of this.#closers.reverse()) await close();
    await this.store.close();
  }
}

/** A socket that records frames; `acks` acknowledges messages through `session` at once. */
export class FakeSocket {
  readonly sent: string[] = [];
  closed: { code: number; reason: string } | null = null;
  bufferedAmount = 0;
  send(data: string): void {
    if (this.closed) throw new Error('not open');
    this.sent.push(data);
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
  messages(): Array<{ id: string; data: string }> {
    return this.sent.map((f) => JSON.parse(f) as { t: string; id: string; data: string }).filter((f) => f.t === 'msg');
  }
}
