/**
 * The Socket.IO baseline of `ringroute bench --baseline socket.io`: the same
 * workload carried by N Socket.IO servers with `@socket.io/redis-adapter`
 * (every packet goes to every server) or with `ringroute/socket.io` (a keyed
 * room's packet goes to the server that owns the key), both on one Redis.
 *
 * - Nodes: N Socket.IO servers `node-1..node-N`, each with its own Redis
 *   connections. Users are placed on the server that owns them on a
 *   `HashRing` of those ids, as in ringroute's own runs, so both systems hold
 *   the same users on the same nodes.
 * - Sender: one more server (same adapter, same Redis, no users) emits every
 *   message with `io.to(rooms).timeout(ms).emitWithAck('m', id, from, text)`.
 * - Users: one `socket.io-client` connection each, in a child process
 *   (`./socketio-users.ts`) so that their CPU is not counted; each joins the
 *   room named by its user id (`user:<n>`) and acknowledges with the callback.
 *
 * All servers, the sender included, run in this process (as in
 * `bench/socketio.bench.ts`): their CPU is this process's, so the CPU is
 * split only between Socket.IO (this process) and Redis (`INFO`).
 *
 * socket.io, socket.io-client, @socket.io/redis-adapter, socket.io-adapter
 * (for ringroute/socket.io) and ioredis are imported only here, at run time,
 * so `ringroute bench` without `--baseline` needs none of them.
 */
import { type Server as HttpServer, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Server as IoServer } from 'socket.io';
import { RedisTransport } from '../adapters/redis/transport.js';
import type { Transport } from '../live/transport.js';
import { HashRing } from '../ring/hash-ring.js';
import { type ChildCommand, ChildHandle } from './child-handle.js';
import { CountingTransport } from './counting-transport.js';
import { SetupError } from './setup-error.js';
import { type FromUsers, SOCKETIO_USERS_ROLE, SOCKETIO_USERS_ROLE_ENV, type ToUsers } from './socketio-users.js';
import type { BenchCluster, BenchMessage, Progress, RunMeasure } from './types.js';

export { isSocketIoUsersProcess, runSocketIoUsers } from './socketio-users.js';

/** The Socket.IO systems a baseline run can start. */
export type SocketIoSystem = 'socket.io-redis-adapter' | 'ringroute-socket.io';

/** How to start the users' child: a script that runs `runSocketIoUsers()` when `RINGROUTE_BENCH_ROLE=socketio-users`. */
export type SocketIoUsersCommand = ChildCommand;

export interface SocketIoClusterOptions {
  readonly system: SocketIoSystem;
  /** Socket.IO servers holding users. */
  readonly nodes: number;
  /** User ids, `user:<n>`; each gets one connection to its owner, in the room named by its id. */
  readonly users: readonly string[];
  /** The Redis both adapters use; every server opens its own connections. */
  readonly redisUrl: string;
  /** Reports background failures (Redis client errors, adapter errors, the child's). */
  readonly onProblem?: (message: string) => void;
  /** How long the sender waits for a message's acks. @default 10000 */
  readonly ackTimeoutMs?: number;
  /** Messages in flight at once. @default 256 */
  readonly window?: number;
  /** Messages per second the sender offers, as ringroute's runs do; 0 = as fast as the window allows. @default 0 */
  readonly rate?: number;
  /** @default {@link defaultSocketIoUsersCommand} */
  readonly usersCommand?: SocketIoUsersCommand;
}

/**
 * The users' child when none is given: this file's sibling
 * `socketio-users.ts` through tsx when running from source, or the bundle
 * this code is in (`dist/cli.js`), whose entry must call
 * `runSocketIoUsers()` when `isSocketIoUsersProcess()`.
 */
export function defaultSocketIoUsersCommand(): SocketIoUsersCommand {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { script: join(dirname(here), 'socketio-users.ts'), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { script: here, execArgv: [] };
}

// ----- optional packages, loaded at run time -----

type SocketIoModule = typeof import('socket.io');
type RedisAdapterModule = typeof import('@socket.io/redis-adapter');
type RingrouteSocketIoModule = typeof import('../socketio/index.js');

/** The slice of an ioredis client used here. */
interface RedisLike {
  publish(channel: string, message: string): Promise<number>;
  duplicate(): RedisLike;
  info(section?: string): Promise<string>;
  quit(): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  disconnect(): void;
}
type RedisConstructor = new (url: string, options?: Record<string, unknown>) => RedisLike;

interface Loaded {
  readonly socketIo: SocketIoModule;
  readonly Redis: RedisConstructor;
  readonly redisAdapter: RedisAdapterModule | null;
  readonly ringroute: RingrouteSocketIoModule | null;
}

async function tryImport<T>(specifier: string): Promise<T | null> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}

/**
 * `ringroute/socket.io` itself: from source, `src/socketio`; from the bundle,
 * `dist/socket.io.js` beside it (not bundled into the CLI, whose single
 * file would otherwise import socket.io-adapter at start for every run).
 */
function ringrouteSocketIoUrl(): string {
  return new URL(import.meta.url.endsWith('.ts') ? '../socketio/index.ts' : './socket.io.js', import.meta.url).href;
}

async function loadPackages(system: SocketIoSystem): Promise<Loaded> {
  // Specifiers in variables: bundlers leave them alone and they stay optional.
  const names = { socketIo: 'socket.io', client: 'socket.io-client', redisAdapter: '@socket.io/redis-adapter', adapter: 'socket.io-adapter', ioredis: 'ioredis' };
  const missing: string[] = [];
  const socketIo = await tryImport<SocketIoModule>(names.socketIo);
  if (socketIo === null) missing.push(names.socketIo);
  // The users' child imports socket.io-client; check here so the error comes before any server starts.
  if ((await tryImport<unknown>(names.client)) === null) missing.push(names.client);
  const ioredis = await tryImport<{ Redis?: RedisConstructor; default?: RedisConstructor }>(names.ioredis);
  if (ioredis === null) missing.push(names.ioredis);
  let redisAdapter: RedisAdapterModule | null = null;
  let ringroute: RingrouteSocketIoModule | null = null;
  if (system === 'socket.io-redis-adapter') {
    redisAdapter = await tryImport<RedisAdapterModule>(names.redisAdapter);
    if (redisAdapter === null) missing.push(names.redisAdapter);
  } else if ((await tryImport<unknown>(names.adapter)) === null) missing.push(names.adapter);
  else ringroute = await import(ringrouteSocketIoUrl()) as RingrouteSocketIoModule;
  if (missing.length > 0) {
    throw new SetupError(`--baseline socket.io needs ${missing.join(', ')} (not installed): run "npm install ${missing.join(' ')}"`);
  }
  const Redis = ioredis!.Redis ?? ioredis!.default;
  if (typeof Redis !== 'function') throw new Error('the installed ioredis package has no Redis class; install ioredis 5 or later');
  return { socketIo: socketIo!, Redis, redisAdapter, ringroute };
}

// ----- counting on the servers -----

/** What one node server counted since the last reset. */
interface NodeCounts {
  /** Packets the adapter delivered to its local sockets (`apply` calls), by the number of rooms targeted. */
  directVisits: number;
  groupVisits: number;
  /** Of those, the ones that found no local socket in any target room. */
  wasted: number;
}

/** The slice of a socket.io-adapter `Adapter` instance used here. */
interface AdapterInternals {
  rooms: Map<string, Set<string>>;
  apply(opts: { rooms: Set<string> }, callback: (socket: unknown) => void): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  serverCount(): Promise<number>;
}

/**
 * Counts a node's visits and wasted visits where socket.io-adapter delivers
 * a packet that reached the server: `Adapter#apply`, which both adapters
 * call for every broadcast they take from Redis (the redis adapter's
 * `onrequest` for an ack broadcast, ringroute's `#onBroadcast`), and which
 * looks up the server's own sockets in the packet's rooms. A node's adapter
 * calls it for nothing else in a run: nodes emit nothing, and nobody
 * fetches or joins sockets remotely. One count per call, wasted when it
 * found no socket. A single room is a direct visit, several a group one (a
 * group of one member counts as direct).
 */
function countVisits(adapter: AdapterInternals, counts: NodeCounts): void {
  const apply = adapter.apply;
  adapter.apply = function countedApply(this: AdapterInternals, opts, callback) {
    let found = 0;
    apply.call(this, opts, (socket) => {
      found++;
      callback(socket);
    });
    if (opts.rooms.size > 1) counts.groupVisits++;
    else counts.directVisits++;
    if (found === 0) counts.wasted++;
  };
}

/** Bus traffic heard by one server's subscriber (the redis adapter). */
interface BusCounts {
  messages: number;
  bytes: number;
  /** Messages on the adapter's request channel: the ack broadcasts it heard. */
  requests: number;
}

/** One Socket.IO server: a node or the sender. */
interface ServerPart {
  readonly id: string;
  readonly io: IoServer;
  readonly http: HttpServer;
  readonly url: string;
  readonly adapter: AdapterInternals;
  readonly visits: NodeCounts;
  /** Redis adapter: what its subscriber heard. */
  readonly bus: BusCounts | null;
  /** ringroute/socket.io: its transport handle, counted. */
  readonly transport: CountingTransport | null;
  /** ringroute/socket.io: the adapter's own counter of packets delivered for others. */
  readonly receivedPackets: (() => number) | null;
  readonly close: () => Promise<void>;
}

/** Closes a client after its pending replies (the redis adapter unsubscribes without waiting), or at once after 1 s. */
async function quit(client: RedisLike): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
  clearTimeout(timer);
  try {
    client.disconnect();
  } catch {
    // already closed
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Socket.IO baseline: ${what} within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(20);
  }
}

/** Redis's CPU (µs) and network bytes, from one `INFO`. */
async function redisUsage(redis: RedisLike): Promise<{ cpuMicros: number; netBytes: number }> {
  const info = await redis.info();
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return {
    cpuMicros: Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6),
    netBytes: field('total_net_input_bytes') + field('total_net_output_bytes'),
  };
}

// ----- the users' child -----

/** The users' process: a child that answers {@link ToUsers} with {@link FromUsers}. */
class UsersChild extends ChildHandle<ToUsers, FromUsers> {
  constructor(command: SocketIoUsersCommand, onProblem: (message: string) => void) {
    super(command, {
      env: { ...process.env, [SOCKETIO_USERS_ROLE_ENV]: SOCKETIO_USERS_ROLE },
      label: () => "the Socket.IO users' process",
      failed: (message) => {
        onProblem(`Socket.IO users: ${message}`);
        return message;
      },
      stopAfterMs: 3000,
    });
  }

  override stop(): Promise<void> {
    return super.stop({ type: 'stop' });
  }
}

// ----- the cluster -----

/**
 * Starts `nodes` Socket.IO servers, a sender and the users' child, with
 * every user connected to its owner and in its room, and every server
 * aware of the others. Throws (after closing what it started) when a
 * package is missing or something does not come up.
 */
export async function startSocketIoCluster(options: SocketIoClusterOptions): Promise<BenchCluster> {
  const { system, nodes, users, redisUrl } = options;
  if (!Number.isSafeInteger(nodes) || nodes < 1) throw new Error(`Socket.IO baseline: nodes must be a positive integer, got ${String(nodes)}`);
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const window = options.window ?? 256;
  const rate = options.rate ?? 0;
  const reported = new Set<string>();
  // One line per kind of problem: a failing Redis would otherwise repeat it thousands of times.
  const problem = (kind: string, message: string): void => {
    if (reported.has(kind)) return;
    reported.add(kind);
    options.onProblem?.(message);
  };

  const loaded = await loadPackages(system);
  const ids = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
  const ring = await HashRing.create(ids.map((id) => ({ id })));
  // A fixed ring: the adapter asks only for `ring`, and listens for changes that never come.
  const router = { ring, on: () => router, off: () => router };
  const prefix = `ringroute-bench-sio-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const control = new loaded.Redis(redisUrl, { maxRetriesPerRequest: 1 });
  control.on('error', (error: Error) => problem('redis-control', `Socket.IO baseline: Redis: ${error.message}`));
  const servers: ServerPart[] = [];
  let child: UsersChild | null = null;

  async function startServer(id: string): Promise<ServerPart> {
    const closers: Array<() => Promise<void> | void> = [];
    const pub = new loaded.Redis(redisUrl);
    pub.on('error', (error: Error) => problem('redis', `Socket.IO baseline: Redis: ${error.message}`));
    closers.push(() => quit(pub));
    let adapterFactory: unknown;
    let bus: BusCounts | null = null;
    let transport: CountingTransport | null = null;
    if (system === 'socket.io-redis-adapter') {
      const sub = pub.duplicate();
      sub.on('error', (error: Error) => problem('redis', `Socket.IO baseline: Redis: ${error.message}`));
      closers.push(() => quit(sub));
      // What crossed Redis to this server: every message its subscriber heard
      // (packets on the pattern channel, ack broadcasts on the request channel,
      // client counts and acks on the response channel, which every server
      // subscribes to with the adapter's default options), and their bytes.
      const counts: BusCounts = { messages: 0, bytes: 0, requests: 0 };
      const requestChannel = `${prefix}-request#/#`;
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        counts.messages++;
        counts.bytes += message.length;
        if (channel.length === requestChannel.length && channel.toString() === requestChannel) counts.requests++;
      });
      sub.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => {
        counts.messages++;
        counts.bytes += message.length;
      });
      bus = counts;
      adapterFactory = loaded.redisAdapter!.createAdapter(pub as never, sub as never, { key: prefix });
    } else {
      transport = new CountingTransport(new RedisTransport({ redis: pub as never, prefix }) as Transport);
      const counted = transport;
      closers.unshift(() => counted.close());
      adapterFactory = loaded.ringroute!.createAdapter({
        router,
        transport,
        nodeId: id,
        // The room of a user is its id, `user:<n>`, which is also its key on
        // the ring (ringroute's own runs look users up by that id). The
        // default, `userRooms('user:')`, would key the room by `<n>` and send
        // its packets to another owner than the one the user is placed on.
        roomKey: (room) => (room.startsWith('user:') ? room : undefined),
        prefix,
      });
    }
    const http = createServer();
    const io = new loaded.socketIo.Server(http, { adapter: adapterFactory as never, serveClient: false });
    io.on('connection', (socket) => {
      const user = (socket.handshake.auth as { user?: unknown }).user;
      if (typeof user === 'string') void socket.join(user);
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    const adapter = io.of('/').adapter as unknown as AdapterInternals;
    adapter.on('error', (error: Error) => problem(`adapter-${error.message.slice(0, 40)}`, `Socket.IO baseline (${id}): ${error.message}`));
    const visits: NodeCounts = { directVisits: 0, groupVisits: 0, wasted: 0 };
    if (id !== 'sender') countVisits(adapter, visits);
    const ringrouteAdapter = system === 'ringroute-socket.io' ? (adapter as unknown as { stats(): { receivedPackets: number } }) : null;
    return {
      id,
      io,
      http,
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      adapter,
      visits,
      bus,
      transport,
      receivedPackets: ringrouteAdapter === null ? null : () => ringrouteAdapter.stats().receivedPackets,
      async close() {
        // Closes the sockets, the adapter (ringroute says goodbye on Redis) and the HTTP server.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          io.close(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        for (const close of closers) {
          try {
            await close();
          } catch {
            // closing: nothing to report
          }
        }
      },
    };
  }

  async function closeAll(): Promise<void> {
    const stopping = child?.stop().catch(() => undefined);
    await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
    await stopping;
    await quit(control);
  }

  try {
    for (const id of ids) servers.push(await startServer(id));
    const sender = await startServer('sender');
    servers.push(sender);
    const nodeParts = servers.slice(0, nodes);
    const byId = new Map(nodeParts.map((part) => [part.id, part]));
    const placed = users.map((user) => ({ id: user, url: byId.get(ring.lookup(user).id)!.url, node: byId.get(ring.lookup(user).id)! }));

    child = new UsersChild(options.usersCommand ?? defaultSocketIoUsersCommand(), (message) => problem('users', message));
    await child.ask({ type: 'init', users: placed.map(({ id, url }) => ({ id, url })) }, 'ready', 60_000 + users.length * 10);
    await waitFor('not every user joined its room on its server', () => placed.every(({ id, node }) => node.adapter.rooms.has(id)));
    if (system === 'ringroute-socket.io') {
      // An ack waits for the servers its adapter knows, from their heartbeats.
      const peers = (part: ServerPart): number => (part.adapter as unknown as { stats(): { peers: number } }).stats().peers;
      await waitFor('the ringroute/socket.io servers did not all hear each other', () => servers.every((part) => peers(part) >= nodes));
    } else {
      // An ack waits for the servers subscribed to the request channel (PUBSUB NUMSUB).
      await waitFor('the Socket.IO servers did not all subscribe on Redis', async () => (await sender.adapter.serverCount()) === nodes + 1);
    }

    let running = false;
    const cluster: BenchCluster = {
      async run(messages: readonly BenchMessage[], progress: Progress, _timed: boolean): Promise<RunMeasure> {
        if (running) throw new Error('Socket.IO baseline: one run at a time');
        running = true;
        try {
          return await runOnce(messages, progress);
        } finally {
          running = false;
        }
      },
      close: async () => {
        try {
          await closeAll();
        } catch {
          // never throws
        }
      },
    };

    async function runOnce(messages: readonly BenchMessage[], progress: Progress): Promise<RunMeasure> {
      await child!.ask({ type: 'reset' }, 'reset', 10_000);
      for (const part of servers) {
        part.visits.directVisits = 0;
        part.visits.groupVisits = 0;
        part.visits.wasted = 0;
        if (part.bus !== null) {
          part.bus.messages = 0;
          part.bus.bytes = 0;
          part.bus.requests = 0;
        }
        part.transport?.reset();
      }
      const packetsBefore = nodeParts.map((part) => part.receivedPackets?.() ?? 0);
      const latenciesMs = new Float64Array(messages.length);
      let notDelivered = 0;
      let directMessages = 0;
      for (const m of messages) if (m.kind === 'direct') directMessages++;

      const redisBefore = await redisUsage(control);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      let inFlight = 0;
      let wake: (() => void) | null = null;
      const io = sender.io;
      for (let i = 0; i < messages.length; i++) {
        while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
        // Paced like ringroute's sender: message i leaves no earlier than i / rate seconds after the first.
        const due = rate > 0 ? started + (i * 1000) / rate - performance.now() : 0;
        if (due > 1) await new Promise((resume) => setTimeout(resume, due));
        const m = messages[i]!;
        const sentAt = performance.now();
        inFlight++;
        const operator = m.to.length === 1 ? io.to(m.to[0]!) : io.to(m.to as string[]);
        operator
          .timeout(ackTimeoutMs)
          .emitWithAck('m', m.id, m.from, m.text)
          .then(
            (responses: unknown[]) => {
              if (responses.length < m.to.length) notDelivered += m.to.length - responses.length;
            },
            (error: { responses?: unknown[] }) => {
              notDelivered += Math.max(0, m.to.length - (error?.responses?.length ?? 0));
            },
          )
          .finally(() => {
            latenciesMs[i] = performance.now() - sentAt;
            inFlight--;
            const resume = wake;
            wake = null;
            resume?.();
          });
        if ((i & 63) === 63) progress(i + 1);
      }
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      progress(messages.length);
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const redisAfter = await redisUsage(control);
      const got = await child!.ask({ type: 'report' }, 'report', 30_000);

      let directVisits = 0;
      let groupVisits = 0;
      let wastedVisits = 0;
      for (const part of nodeParts) {
        directVisits += part.visits.directVisits;
        groupVisits += part.visits.groupVisits;
        wastedVisits += part.visits.wasted;
      }
      const nodeVisits = directVisits + groupVisits;
      // Cross-check with the count at the entry of each adapter: the redis
      // adapter's request channel, ringroute's own `receivedPackets`.
      const entered =
        system === 'socket.io-redis-adapter'
          ? nodeParts.reduce((sum, part) => sum + part.bus!.requests, 0)
          : nodeParts.reduce((sum, part, i) => sum + part.receivedPackets!() - packetsBefore[i]!, 0);
      if (entered !== nodeVisits) problem(`visits-${entered}-${nodeVisits}`, `Socket.IO baseline: ${entered} packets reached the nodes' adapters but ${nodeVisits} were delivered to local sockets`);

      let busMessages = 0;
      let busBytes = 0;
      for (const part of servers) {
        if (part.bus !== null) {
          busMessages += part.bus.messages;
          busBytes += part.bus.bytes;
        }
        if (part.transport !== null) {
          busMessages += part.transport.counts.received;
          busBytes += part.transport.counts.receivedBytes;
        }
      }
      const processMicros = cpu.user + cpu.system;
      const redisMicros = Math.max(0, redisAfter.cpuMicros - redisBefore.cpuMicros);
      return {
        messages: messages.length,
        directMessages,
        groupMessages: messages.length - directMessages,
        delivered: got.delivered,
        duplicates: got.duplicates,
        checksum: got.checksum,
        notDelivered,
        nodeVisits,
        directVisits,
        groupVisits,
        wastedVisits,
        busMessages,
        busBytes,
        cpu: { totalMicros: processMicros + redisMicros, senderMicros: null, nodesMicros: null, serverMicros: redisMicros },
        split: null,
        wallMs,
        latenciesMs,
        server: { cpuMicros: redisMicros, netBytes: Math.max(0, redisAfter.netBytes - redisBefore.netBytes) },
      };
    }

    return cluster;
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}
