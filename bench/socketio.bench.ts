/**
 * ringroute/socket.io against @socket.io/redis-adapter on the same Redis
 * (not a test): N Socket.IO servers (2, 4, 8, 16) in this process, each with
 * its own Redis connections; users in a child process, each connected to the
 * server that owns it on the ring (as a gateway would place it); emits
 * `io.to('user:<id>')` from a random server to a random user. Per adapter
 * and size it reports the servers that handled each emit (a broadcasting
 * adapter: all N, the sender included; ringroute: the owner), and the CPU per
 * delivered message of this process (every server) plus redis-server, read
 * around each round. Both adapters' clusters run at once and their rounds
 * alternate, so both see the same load on a shared machine (tinybench would
 * run one task's rounds back to back); medians over the rounds.
 *
 *   npm run bench:socketio                       # 2, 4, 8, 16 servers, 4,000 emits per round
 *   npm run bench:socketio -- --sizes=8 --emits=2000 --rounds=5 --kinds=ringroute
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { HashRing, createXxHash32 } from '../src/index.js';
import { RedisTransport } from '../src/adapters/redis/index.js';
import { type RingrouteAdapter, createAdapter } from '../src/socketio/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZES = arg('sizes', '2,4,8,16').split(',').map(Number);
const EMITS = Number(arg('emits', '4000'));
const ROUNDS = Number(arg('rounds', '8'));
const USERS_PER_SERVER = Number(arg('users-per-server', '25'));
const KINDS = arg('kinds', 'redis-adapter,ringroute').split(',') as Kind[];
const PAYLOAD = 'x'.repeat(100);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Kind = 'ringroute' | 'redis-adapter';

interface Cluster {
  readonly servers: Server[];
  readonly urls: string[];
  /** Emits to the servers that handled a packet, per server since the start. */
  handled(): number[];
  close(): Promise<void>;
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return (user + sys) * 1000; // ms
}

async function startCluster(kind: Kind, n: number, url: string, ring: HashRing): Promise<Cluster> {
  const servers: Server[] = [];
  const urls: string[] = [];
  const counters: Array<() => number> = [];
  const closers: Array<() => Promise<void> | void> = [];
  const prefix = `bench-sio-${kind}-${n}-${Date.now().toString(36)}`;
  const router = { ring, on: () => router, off: () => router };
  for (let i = 0; i < n; i++) {
    const nodeId = `node-${i}`;
    const pub = new Redis(url);
    let adapter: unknown;
    if (kind === 'ringroute') {
      const transport = new RedisTransport({ redis: pub, prefix });
      adapter = createAdapter({ router, transport, nodeId });
      closers.push(() => transport.close());
    } else {
      const sub = pub.duplicate();
      let packets = 0;
      sub.on('pmessageBuffer', () => packets++);
      adapter = createRedisAdapter(pub, sub, { key: prefix });
      counters.push(() => packets);
      closers.push(() => void sub.disconnect());
    }
    closers.push(() => void pub.disconnect());
    const http = createServer();
    const io = new Server(http, { adapter: adapter as never });
    io.on('connection', (socket) => void socket.join(`user:${String((socket.handshake.auth as { user?: string }).user)}`));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    urls.push(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
    servers.push(io);
    if (kind === 'ringroute') counters.push(() => (io.of('/').adapter as unknown as RingrouteAdapter).stats().receivedPackets);
  }
  return {
    servers,
    urls,
    handled: () => counters.map((c) => c()),
    async close() {
      await Promise.all(servers.map((io) => io.close()));
      for (const close of closers) await close();
    },
  };
}

function ask(child: ChildProcess, type: string): Promise<{ received: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} answer within 60 s`)), 60_000);
    const onMessage = (message: { type: string; received: number }) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    if (type !== 'ready') child.send({ type });
  });
}

/** Resolves once the users received `target` packets in all (or after 30 s: the difference is reported as lost). */
function reached(child: ChildProcess, target: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, 30_000);
    function done(): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve();
    }
    function onMessage(message: { type: string }): void {
      if (message.type === 'reached') done();
    }
    child.on('message', onMessage);
    child.send({ type: 'notify', target });
  });
}

interface Row {
  kind: Kind;
  n: number;
  nodesPerEmit: number;
  perNode: number[];
  cpuUsPerMessage: number;
  redisUsPerMessage: number;
  roundMs: number;
  lost: number;
}

/** One adapter's cluster and users, ready for rounds. */
interface Rig {
  readonly kind: Kind;
  readonly cluster: Cluster;
  readonly child: ChildProcess;
  readonly ring: HashRing;
  readonly users: string[];
  expected: number;
  emitted: number;
  senderIsOwner: number;
}

async function rig(kind: Kind, n: number, url: string): Promise<Rig> {
  const ring = new HashRing({ hasher: await createXxHash32() }, Array.from({ length: n }, (_, i) => ({ id: `node-${i}` })));
  const cluster = await startCluster(kind, n, url, ring);
  const users = Array.from({ length: n * USERS_PER_SERVER }, (_, u) => `u${u}`);
  const placed = users.map((id) => ({ id, url: cluster.urls[Number(ring.lookup(id).id.slice(5))]! }));
  const child = fork(fileURLToPath(new URL('./socketio-users.ts', import.meta.url)), [JSON.stringify({ users: placed })], { execArgv: ['--import', 'tsx'] });
  await ask(child, 'ready');
  await sleep(300);
  return { kind, cluster, child, ring, users, expected: (await ask(child, 'count')).received, emitted: 0, senderIsOwner: 0 };
}

/** Emits `count` packets from random servers to random users, and waits until the users got them. */
async function round(r: Rig, count: number): Promise<void> {
  const n = r.cluster.servers.length;
  for (let i = 0; i < count; i++) {
    const from = Math.floor(Math.random() * n);
    const to = r.users[Math.floor(Math.random() * r.users.length)]!;
    if (r.ring.lookup(to).id === `node-${from}`) r.senderIsOwner++;
    r.cluster.servers[from]!.to(`user:${to}`).emit('m', PAYLOAD);
    r.emitted++;
    if (i % 200 === 199) await sleep(0);
  }
  r.expected += count;
  await reached(r.child, r.expected);
}

/**
 * Both adapters' clusters run side by side, and their rounds alternate, so
 * both see the same machine load (the machine is shared; a round of one
 * followed by a round of the other is a fair pair). Medians over the rounds.
 */
async function measure(n: number, url: string, redis: Redis): Promise<Row[]> {
  const rigs: Rig[] = [];
  for (const kind of KINDS) rigs.push(await rig(kind, n, url));
  for (const r of rigs) await round(r, 500); // warm-up
  const cpu = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const redisCpuPer = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const wall = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const start = new Map(rigs.map((r) => [r.kind, { handled: r.cluster.handled(), emitted: r.emitted, self: r.senderIsOwner }]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const r of i % 2 === 0 ? rigs : [...rigs].reverse()) {
      const before = process.cpuUsage();
      const redisBefore = await redisCpu(redis);
      const t0 = performance.now();
      await round(r, EMITS);
      wall.get(r.kind)!.push(performance.now() - t0);
      const used = process.cpuUsage(before);
      cpu.get(r.kind)!.push((used.user + used.system) / EMITS);
      redisCpuPer.get(r.kind)!.push((((await redisCpu(redis)) - redisBefore) * 1000) / EMITS);
    }
  }
  const rows: Row[] = [];
  for (const r of rigs) {
    const s = start.get(r.kind)!;
    const received = (await ask(r.child, 'count')).received;
    const handled = r.cluster.handled().map((h, i) => h - s.handled[i]!);
    const emits = r.emitted - s.emitted;
    // A broadcasting adapter's own echo is counted by its subscriber; ringroute's sender-is-owner emits are handled by the sender itself.
    const visits = handled.reduce((a, b) => a + b, 0) + (r.kind === 'ringroute' ? r.senderIsOwner - s.self : 0);
    r.child.send({ type: 'stop' });
    await r.cluster.close();
    rows.push({
      kind: r.kind,
      n,
      nodesPerEmit: visits / emits,
      perNode: handled.map((h) => h / emits),
      cpuUsPerMessage: median(cpu.get(r.kind)!),
      redisUsPerMessage: median(redisCpuPer.get(r.kind)!),
      roundMs: median(wall.get(r.kind)!),
      lost: r.expected - received,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const external = arg('redis', '');
  const server = external === '' ? await RedisServer.start() : undefined;
  const url = external === '' ? server!.url : external;
  const redis = new Redis(url);
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const row of await measure(n, url, redis)) {
        rows.push(row);
        process.stderr.write(`${row.kind} ${n}: ${row.nodesPerEmit.toFixed(2)} servers/emit, ${row.cpuUsPerMessage.toFixed(1)} µs CPU + ${row.redisUsPerMessage.toFixed(1)} µs Redis per message, lost ${row.lost}\n`);
      }
    }
  } finally {
    redis.disconnect();
    await server?.destroy();
  }
  console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${EMITS} emits per round, ${ROUNDS} rounds per adapter (alternating), ${USERS_PER_SERVER} users per server, medians; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log('| servers | adapter | servers handling each emit | packets per server per emit (max) | CPU per message, Socket.IO servers | Redis CPU per message | total | ringroute / redis-adapter | wall time per round | lost |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const base = rows.find((r) => r.n === row.n && r.kind === 'redis-adapter');
    const total = row.cpuUsPerMessage + row.redisUsPerMessage;
    const ratio = base === undefined ? Number.NaN : total / (base.cpuUsPerMessage + base.redisUsPerMessage);
    console.log(
      `| ${row.n} | ${row.kind} | ${row.nodesPerEmit.toFixed(2)} | ${Math.max(...row.perNode).toFixed(2)} | ${row.cpuUsPerMessage.toFixed(1)} µs | ${row.redisUsPerMessage.toFixed(1)} µs | ${total.toFixed(1)} µs | ${row.kind === 'ringroute' ? `${ratio.toFixed(2)}×` : '1'} | ${row.roundMs.toFixed(0)} ms | ${row.lost} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
