import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { HashRing, type MemoryTransport } from '../../src/index.js';
import { xxh32 } from '../ring/support.js';
import type { RingrouteAdapter, SocketIoRouter } from '../../src/socketio/index.js';

/** A router over a ring the test sets: RingRouter's contract (ring + 'change'). */
export class TestRouter extends EventEmitter<{ change: [] }> implements SocketIoRouter {
  ring: HashRing;

  constructor(nodes: readonly string[]) {
    super();
    this.ring = new HashRing({ hasher: xxh32, vnodes: 64 }, nodes.map((id) => ({ id })));
  }

  set(nodes: readonly string[]): void {
    this.ring = new HashRing({ hasher: xxh32, vnodes: 64 }, nodes.map((id) => ({ id })));
    this.emit('change');
  }
}

export interface TestCluster {
  readonly servers: Server[];
  readonly serverSockets: ServerSocket[];
  readonly clientSockets: ClientSocket[];
  close(): Promise<void>;
}

/** The adapter option of server `i` (0-based), and what to release after. */
export type AdapterFactory = (i: number) => Promise<{ adapter: unknown; cleanup?: () => Promise<void> | void }>;

/** `count` Socket.IO servers on loopback, one client connected to each, once every server saw its client. */
export async function startCluster(count: number, factory: AdapterFactory): Promise<TestCluster> {
  const servers: Server[] = [];
  const serverSockets: ServerSocket[] = [];
  const clientSockets: ClientSocket[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  const inits: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const { adapter, cleanup } = await factory(i);
    if (cleanup !== undefined) cleanups.push(cleanup);
    const http = createServer();
    const io = new Server(http, { adapter: recordingInit(adapter, inits) as never });
    servers.push(io);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const port = (http.address() as AddressInfo).port;
    const connected = new Promise<ServerSocket>((resolve) => io.once('connection', resolve));
    const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    clientSockets.push(client);
    serverSockets.push(await connected);
  }
  // Every client saw its connect (the server's 'connection' comes first), and every adapter heard every other's first heartbeat.
  await Promise.all(clientSockets.map((client) => (client.connected ? undefined : new Promise((resolve) => client.once('connect', () => resolve(undefined))))));
  await everyPeerHeard(servers, inits);
  return {
    servers,
    serverSockets,
    clientSockets,
    async close() {
      for (const client of clientSockets) client.disconnect();
      await Promise.all(servers.map((io) => io.close()));
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The adapter option `adapter` (a constructor Socket.IO calls with `new`),
 * recording in `inits` the promise of each instance's `init()`, which
 * Socket.IO calls at once and does not wait for.
 */
function recordingInit(adapter: unknown, inits: Array<Promise<unknown>>): unknown {
  if (typeof adapter !== 'function') return adapter;
  const Adapter = adapter as new (nsp: unknown) => { init(): unknown };
  // A plain function, not an arrow: Socket.IO calls it with `new`.
  return function recordedAdapter(nsp: unknown) {
    const instance = new Adapter(nsp);
    const init = instance.init.bind(instance);
    instance.init = () => {
      const done = Promise.resolve(init());
      inits.push(done);
      return done;
    };
    return instance;
  };
}

/**
 * Waits until every server's adapter has heard every other's first
 * heartbeat: every `init()` is done (it listens on the broadcast address
 * and its own, then announces itself), and every adapter counts all the
 * servers. Polled, so a start costs what the heartbeats take rather than a
 * fixed 150 ms. (Counting the servers alone is not enough: an adapter is
 * known to the others by its answer to their announcements, which can come
 * before it listens on its own address.)
 */
async function everyPeerHeard(servers: readonly Server[], inits: ReadonlyArray<Promise<unknown>>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(inits);
  for (;;) {
    const counts = await Promise.all(servers.map((io) => io.of('/').adapter.serverCount()));
    if (counts.every((n) => n === servers.length)) return;
    if (Date.now() > deadline) throw new Error(`the adapters counted ${counts.join(', ')} servers within ${timeoutMs} ms, not ${servers.length} each`);
    await sleep(5);
  }
}

/** Resolves when `event` has reached every listed client `times` in total, rejects on one it must not reach or after `ms`. */
export function expectEvent(event: string, reach: readonly ClientSocket[], never: readonly ClientSocket[] = [], ms = 2000): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const got: unknown[][] = [];
    const timer = setTimeout(() => reject(new Error(`"${event}" reached ${got.length} of ${reach.length} clients in ${ms} ms`)), ms);
    for (const client of reach) {
      client.once(event, (...args: unknown[]) => {
        got.push(args);
        if (got.length === reach.length) {
          // Wait a little for a copy that must not come.
          setTimeout(() => {
            clearTimeout(timer);
            resolve(got);
          }, 50);
        }
      });
    }
    for (const client of never) {
      client.once(event, () => {
        clearTimeout(timer);
        reject(new Error(`"${event}" reached a client it must not reach`));
      });
    }
  });
}

/** Socket.IO socket ids are 20 characters of base64url; a test's room names never are. */
export const isSocketId = (room: string): boolean => /^[A-Za-z0-9_-]{20}$/.test(room);
/** The "every room but a socket id is a key" mapping. */
export const everyRoomAKey = (room: string): string | undefined => (isSocketId(room) ? undefined : room);

export interface UserCluster {
  readonly servers: Server[];
  readonly ports: number[];
  /** Connects user `id` to server `i`; the server joins it to `user:<id>`. */
  user(i: number, id: string): Promise<ClientSocket>;
  close(): Promise<void>;
}

/** `count` servers whose sockets join `user:<auth.user>`; users connect where the test says. */
export async function startUserCluster(count: number, factory: AdapterFactory): Promise<UserCluster> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const clients: ClientSocket[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  const inits: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const { adapter, cleanup } = await factory(i);
    if (cleanup !== undefined) cleanups.push(cleanup);
    const http = createServer();
    const io = new Server(http, { adapter: recordingInit(adapter, inits) as never });
    io.on('connection', (socket) => void socket.join(`user:${String((socket.handshake.auth as { user?: string }).user)}`));
    servers.push(io);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    ports.push((http.address() as AddressInfo).port);
  }
  await everyPeerHeard(servers, inits);
  return {
    servers,
    ports,
    async user(i, id) {
      const client = connect(`http://127.0.0.1:${ports[i]!}`, { transports: ['websocket'], reconnection: false, auth: { user: id } });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('connect_error', reject);
      });
      // The join happens in the server's connection handler: give its registration a moment.
      await sleep(20);
      return client;
    },
    async close() {
      for (const client of clients) client.disconnect();
      await Promise.all(servers.map((io) => io.close()));
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

/** The adapter of a server's main namespace. */
export function adapterOf(io: Server): RingrouteAdapter {
  return io.of('/').adapter as unknown as RingrouteAdapter;
}

/** A MemoryTransport handle whose HOLD registrations leave `delayMs` late, as over a second connection that lost the race. */
export function lateHolds(bus: MemoryTransport, delayMs: number): MemoryTransport {
  const handle = bus.connect();
  const publish = handle.publish.bind(handle);
  handle.publish = async (address: string, message: string): Promise<number> => {
    if (message.includes('"type":100')) {
      await sleep(delayMs);
    }
    return publish(address, message);
  };
  return handle;
}

