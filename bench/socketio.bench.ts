/**
 * ringroute/socket.io against @socket.io/redis-adapter on the same Redis
 * (not a test): N Socket.IO servers (2, 4, 8, 16) in this process, each with
 * its own Redis connections; users in a child process, each connected to the
 * server that owns it on the ring (as a gateway would place it); emits
 * `io.to('user:<id>')` from a random server to a random user. Per adapter
 * and size it reports the servers that handled each emit (a broadcasting
 * adapter: all N, the sender included; ringroute: the owner), and the CPU per
 * delivered message of this process (every server) plus redis-server.
 * tinybench times the rounds; CPU is read around each round; medians.
 *
 *   npm run bench:socketio                       # 2, 4, 8, 16 servers, 4,000 emits per round
 *   npm run bench:socketio -- --sizes=8 --emits=2000 --rounds=5 --kinds=ringroute
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { Bench } from 'tinybench';
import { HashRing, createXxHash32 } from '../src/index.js';
import { RedisTransport } from '../src/adapters/redis/index.js';
import { type RingrouteAdapter, createAdapter } from '../src/socketio/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZES = arg('sizes', '2,4,8,16').split(',').map(Number);
const EMITS = Number(arg('emits', '4000'));
const ROUNDS = Number(arg('rounds', '5'));
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

async function measure(kind: Kind, n: number, url: string, redis: Redis): Promise<Row> {
  const ring = new HashRing({ hasher: await createXxHash32() }, Array.from({ length: n }, (_, i) => ({ id: `node-${i}` })));
  const cluster = await startCluster(kind, n, url, ring);
  const users = Array.from({ length: n * USERS_PER_SERVER }, (_, u) => `u${u}`);
  const placed = users.map((id) => ({ id, url: cluster.urls[Number(ring.lookup(id).id.slice(5))]! }));
  const child = fork(fileURLToPath(new URL('./socketio-users.ts', import.meta.url)), [JSON.stringify({ users: placed })], { execArgv: ['--import', 'tsx'] });
  await ask(child, 'ready');
  await sleep(300);
  let expected = (await ask(child, 'count')).received;
  let emitted = 0;
  let senderIsOwner = 0;
  const round = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const from = Math.floor(Math.random() * n);
      const to = users[Math.floor(Math.random() * users.length)]!;
      if (ring.lookup(to).id === `node-${from}`) senderIsOwner++;
      cluster.servers[from]!.to(`user:${to}`).emit('m', PAYLOAD);
      emitted++;
      if (i % 200 === 199) await sleep(0);
    }
    expected += count;
    await reached(child, expected);
  };
  await round(500); // warm-up
  const cpu: number[] = [];
  const redisCpuPer: number[] = [];
  const startHandled = cluster.handled();
  const startEmitted = emitted;
  const startSelf = senderIsOwner;
  const bench = new Bench({ name: `${kind}-${n}`, iterations: ROUNDS, time: 0, warmupIterations: 0, warmupTime: 0 });
  bench.add(`${kind} ${n} servers`, async () => {
    const before = process.cpuUsage();
    const redisBefore = await redisCpu(redis);
    await round(EMITS);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / EMITS);
    redisCpuPer.push(((await redisCpu(redis)) - redisBefore) * 1000 / EMITS);
  });
  await bench.run();
  const received = (await ask(child, 'count')).received;
  const handled = cluster.handled().map((h, i) => h - startHandled[i]!);
  const emits = emitted - startEmitted;
  // A broadcasting adapter's own echo is counted by its subscriber; ringroute's sender-is-owner emits are handled by the sender itself.
  const visits = handled.reduce((a, b) => a + b, 0) + (kind === 'ringroute' ? senderIsOwner - startSelf : 0);
  child.send({ type: 'stop' });
  await cluster.close();
  const latency = bench.tasks[0]!.result as unknown as { latency?: { p50?: number } };
  return {
    kind,
    n,
    nodesPerEmit: visits / emits,
    perNode: handled.map((h) => h / emits),
    cpuUsPerMessage: median(cpu),
    redisUsPerMessage: median(redisCpuPer),
    roundMs: latency.latency?.p50 ?? Number.NaN,
    lost: expected - received,
  };
}

async function main(): Promise<void> {
  const external = arg('redis', '');
  const server = external === '' ? await RedisServer.start() : undefined;
  const url = external === '' ? server!.url : external;
  const redis = new Redis(url);
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const kind of KINDS) {
        const row = await measure(kind, n, url, redis);
        rows.push(row);
        process.stderr.write(`${kind} ${n}: ${row.nodesPerEmit.toFixed(2)} servers/emit, ${row.cpuUsPerMessage.toFixed(1)} µs CPU + ${row.redisUsPerMessage.toFixed(1)} µs Redis per message, lost ${row.lost}\n`);
      }
    }
  } finally {
    redis.disconnect();
    await server?.destroy();
  }
  console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${EMITS} emits per round, ${ROUNDS} rounds, ${USERS_PER_SERVER} users per server, medians\n`);
  console.log('| servers | adapter | servers handling each emit | packets per server per emit (max) | CPU per message, Socket.IO servers | Redis CPU per message | total | ringroute / redis-adapter | lost |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const base = rows.find((r) => r.n === row.n && r.kind === 'redis-adapter');
    const total = row.cpuUsPerMessage + row.redisUsPerMessage;
    const ratio = base === undefined ? Number.NaN : total / (base.cpuUsPerMessage + base.redisUsPerMessage);
    console.log(
      `| ${row.n} | ${row.kind} | ${row.nodesPerEmit.toFixed(2)} | ${Math.max(...row.perNode).toFixed(2)} | ${row.cpuUsPerMessage.toFixed(1)} µs | ${row.redisUsPerMessage.toFixed(1)} µs | ${total.toFixed(1)} µs | ${row.kind === 'ringroute' ? `${ratio.toFixed(2)}×` : '1'} | ${row.lost} |`,
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
