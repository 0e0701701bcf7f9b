/**
 * The engines side by side (not a test): memory, one Redis, a 3-master Redis
 * Cluster, one nats-server and a 3-server JetStream cluster (3 replicas),
 * each started privately on free ports with its data in a temp dir.
 *
 * Convergence: per engine, `--routers` RingRouters (8), each on its own
 * connection as separate gateways would be, one RingCoordinator on another,
 * and a membership handle on a third that holds 4 members. A fifth member
 * joins, then leaves, `--samples` times each. Per change it takes the time
 * of the call (join/leave), of the coordinator's `'write'` event (its
 * compare-and-set acknowledged: the event fires when the store's promise
 * resolves in the coordinator) and of each router's `'change'` event for
 * that version, all on one clock in this process, and reports write -> every
 * router applied and call -> every router applied (median, p99). Production
 * defaults throughout (printed with the results). The engines take turns in
 * blocks of 10 joins and 10 leaves, so they share the machine's load.
 *
 * Transport: per engine and round, 8 node transports (one connection each)
 * listening at their node addresses; every message goes from a node to the
 * owner of a user key on the ring, at most `--window` in flight
 * (bench/hash-routed.ts). Rounds alternate across engines after a warm-up
 * round each; medians over the rounds, and every message checked to arrive
 * exactly once.
 *
 *   npm run bench:engines
 *   npm run bench:engines -- --engines=redis,nats --samples=50 --messages=5000 --rounds=1 --parts=transport
 *   npm run bench:engines -- --rounds=5 --json=/tmp/engines.json   # every sample and round, to look at outliers
 *
 * Every server it starts is stopped and its temp dir removed at the end, after an error, or on SIGINT/SIGTERM.
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Cluster, Redis } from 'ioredis';
import {
  HashRing,
  MemoryMembership,
  MemoryRingStore,
  MemoryTransport,
  RingCoordinator,
  RingRouter,
  createXxHash32,
  type MembershipAdapter,
  type RingNode,
  type RingState,
  type RingStore,
  type Transport,
} from '../src/index.js';
import { RedisMembership, RedisRingStore, RedisTransport } from '../src/adapters/redis/index.js';
import { NatsMembership, NatsRingStore, NatsTransport } from '../src/adapters/nats/index.js';
import { NatsCluster, NatsServer } from '../test/support/nats-server.js';
import { RedisClusterServers, RedisServer } from '../test/support/redis-server.js';
import { flags, hashRoutedLoad, median, quantile } from './hash-routed.js';

const ENGINE_NAMES = ['memory', 'redis', 'redis-cluster', 'nats', 'nats-cluster'] as const;
type EngineName = (typeof ENGINE_NAMES)[number];
const LABELS: Record<EngineName, string> = {
  memory: 'memory (one process)',
  redis: 'Redis (single server)',
  'redis-cluster': 'Redis Cluster (3 masters)',
  nats: 'NATS (single server)',
  'nats-cluster': 'NATS cluster (3 servers, R3)',
};

const args = flags();
const ENGINES = (args.get('engines') ?? ENGINE_NAMES.join(',')).split(',') as EngineName[];
for (const e of ENGINES) if (!ENGINE_NAMES.includes(e)) throw new Error(`unknown engine ${e} (${ENGINE_NAMES.join(', ')})`);
const PARTS = new Set((args.get('parts') ?? 'convergence,transport').split(','));
const SAMPLES = Number(args.get('samples') ?? 200);
const ROUTERS = Number(args.get('routers') ?? 8);
const MESSAGES = Number(args.get('messages') ?? 20_000);
const ROUNDS = Number(args.get('rounds') ?? 3);
const WINDOW = Number(args.get('window') ?? 128);
const BYTES = Number(args.get('bytes') ?? 128);
const NODES = 8;
const BLOCK = 10;
/** Where to write every sample and round as JSON (`--json=path`), to look at outliers. */
const JSON_PATH = args.get('json');
/** Longest wait for any one step (a write, every router applying it, a server starting). */
const WAIT_MS = 15_000;

// Production defaults (docs/adapters.md), stated here so the output can print them.
const MEMBER = { ttlMs: 3000, heartbeatMs: 1000 };
const COORDINATOR = { settleMs: 50, resyncMs: 5000, timeoutMs: 2000 };
const ROUTER = { resyncMs: 1000, readTimeoutMs: 2000 };

/** Problems the adapters reported while measuring, by engine and source. */
const reported = new Map<string, number>();
const firstReports = new Map<string, string>();
function report(engine: EngineName, source: string): (error: Error) => void {
  return (error) => {
    const key = `${engine} ${source}`;
    reported.set(key, (reported.get(key) ?? 0) + 1);
    if (!firstReports.has(key)) firstReports.set(key, error.message.slice(0, 200));
  };
}

/** One simulated process of the cluster: its own connection, and adapters on it. */
interface Conn {
  store(): RingStore;
  membership(): MembershipAdapter;
  transport(prefix: string): Transport;
  close(): Promise<void>;
}

interface Engine {
  readonly name: EngineName;
  /** Server versions, for the output. */
  version: string;
  /** A new connection (i picks the first server of a cluster). */
  connect(i: number): Promise<Conn>;
  stop(): Promise<void>;
}

/** Closes the adapters opened on a connection, then the connection. */
function closer(closeConnection: () => Promise<unknown>) {
  const opened: Array<{ close(): Promise<void> }> = [];
  return {
    add<T extends { close(): Promise<void> }>(adapter: T): T {
      opened.push(adapter);
      return adapter;
    },
    async close(): Promise<void> {
      await Promise.allSettled(opened.map((a) => withTimeout(a.close(), 5000, 'closing an adapter')));
      await withTimeout(closeConnection(), 5000, 'closing a connection').catch(() => undefined);
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every millisecond or so; the times measured come from event handlers, not from this loop. */
async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const PREFIX = `bench-engines-${process.pid}`;

function memoryEngine(): Engine {
  const store = new MemoryRingStore();
  const membership = new MemoryMembership(MEMBER);
  const transport = new MemoryTransport();
  return {
    name: 'memory',
    version: '-',
    async connect() {
      const c = closer(async () => undefined);
      return {
        store: () => c.add(store.connect()),
        membership: () => c.add(membership.connect()),
        transport: () => c.add(transport.connect()),
        close: () => c.close(),
      };
    },
    async stop() {
      await Promise.allSettled([store.close(), membership.close(), transport.close()]);
    },
  };
}

function redisConn(engine: EngineName, redis: Redis | Cluster): Conn {
  redis.on('error', report(engine, 'client'));
  const c = closer(() => redis.quit());
  return {
    store: () => c.add(new RedisRingStore({ redis, prefix: PREFIX })),
    membership: () => c.add(new RedisMembership({ redis, prefix: PREFIX, ...MEMBER, onError: report(engine, 'membership') })),
    transport: (prefix) => c.add(new RedisTransport({ redis, prefix })),
    close: () => c.close(),
  };
}

async function redisVersion(port: number): Promise<string> {
  const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    return /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
  } finally {
    admin.disconnect();
  }
}

async function redisEngine(): Promise<Engine> {
  const server = await RedisServer.start();
  return {
    name: 'redis',
    version: `redis-server ${await redisVersion(server.port)}`,
    connect: async () => redisConn('redis', new Redis(server.url, { maxRetriesPerRequest: 1 })),
    stop: () => server.destroy(),
  };
}

async function redisClusterEngine(): Promise<Engine> {
  const servers = await RedisClusterServers.start(3);
  return {
    name: 'redis-cluster',
    version: `redis-server ${await redisVersion(servers.nodes[0]!.port)}, 3 masters, no replicas`,
    connect: async () => redisConn('redis-cluster', new Cluster(servers.nodes, { redisOptions: { maxRetriesPerRequest: 1 } })),
    stop: () => servers.destroy(),
  };
}

function natsConn(engine: EngineName, nc: NatsConnection, replicas: number): Conn {
  const c = closer(() => nc.close());
  return {
    store: () => c.add(new NatsRingStore({ nats: nc, prefix: PREFIX, replicas })),
    membership: () => c.add(new NatsMembership({ nats: nc, prefix: PREFIX, replicas, ...MEMBER, onError: report(engine, 'membership') })),
    transport: (prefix) => c.add(new NatsTransport({ nats: nc, prefix })),
    close: () => c.close(),
  };
}

async function natsEngine(name: 'nats' | 'nats-cluster'): Promise<Engine> {
  const servers: { urls: string[]; destroy(): Promise<void> } =
    name === 'nats' ? await NatsServer.start().then((s) => ({ urls: [s.url], destroy: () => s.destroy() })) : await NatsCluster.start(3);
  const replicas = name === 'nats' ? 1 : 3;
  const open = (i: number) => {
    const urls = servers.urls;
    const first = i % urls.length;
    return connect({ servers: [...urls.slice(first), ...urls.slice(0, first)], noRandomize: true, timeout: 5000 });
  };
  try {
    // JetStream answers once its meta leader is elected (a cluster takes seconds): until then, creating a bucket fails.
    const nc = await open(0);
    const version = `nats-server ${nc.info?.version ?? '?'}${replicas === 3 ? ', 3 servers, buckets with 3 replicas' : ''}`;
    const probe = natsConn(name, nc, replicas);
    const store = probe.store();
    const deadline = performance.now() + 60_000;
    while (!(await store.read().then(() => true, () => false))) {
      if (performance.now() > deadline) throw new Error(`${name}: JetStream did not answer within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await probe.close();
    return { name, version, connect: async (i) => natsConn(name, await open(i), replicas), stop: () => servers.destroy() };
  } catch (error) {
    await servers.destroy();
    throw error;
  }
}

async function startEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'memory':
      return memoryEngine();
    case 'redis':
      return redisEngine();
    case 'redis-cluster':
      return redisClusterEngine();
    default:
      return natsEngine(name);
  }
}

// ---------------------------------------------------------------- convergence

interface Sample {
  /** When the call was made (ms since the script started), to line outliers up across engines. */
  readonly at: number;
  /** The router that applied last. */
  readonly lastRouter: number;
  /** Routers that applied the version from a read no push had announced (their periodic re-read: the push was late or lost). */
  readonly byResync: number;
  /** join() / leave() called -> the coordinator's 'write' event. */
  readonly callToWrite: number;
  /** The coordinator's 'write' event -> the last router's 'change' for that version. */
  readonly writeToAll: number;
  /** join() / leave() called -> the last router's 'change'. */
  readonly callToAll: number;
}

interface Rig {
  sample(kind: 'join' | 'leave'): Promise<Sample>;
  close(): Promise<void>;
}

const BASE: RingNode[] = Array.from({ length: 4 }, (_, i) => ({ id: `node-${i}`, meta: { url: `ws://10.0.0.${i + 1}:8080` } }));
const EXTRA: RingNode = { id: 'node-extra', meta: { url: 'ws://10.0.0.99:8080' } };
const idsOf = (nodes: readonly RingNode[]): string => nodes.map((n) => n.id).sort().join(',');

async function convergenceRig(engine: Engine): Promise<Rig> {
  const conns: Conn[] = [];
  const conn = async (i: number): Promise<Conn> => {
    const c = await engine.connect(i);
    conns.push(c);
    return c;
  };
  const closeAll = async () => {
    await Promise.allSettled(closers.splice(0).map((close) => withTimeout(close(), 5000, 'closing a router or coordinator')));
    await Promise.allSettled(conns.splice(0).map((c) => c.close()));
  };
  const closers: Array<() => Promise<void>> = [];
  try {
    const c0 = await conn(0);
    const coordinator = await RingCoordinator.start({ membership: c0.membership(), store: c0.store(), ...COORDINATOR });
    closers.push(() => coordinator.close());
    coordinator.on('error', report(engine.name, 'coordinator'));
    const writes: Array<{ state: RingState; at: number }> = [];
    coordinator.on('write', (state) => writes.push({ state, at: performance.now() }));
    const applied: Array<Array<{ epoch: string; version: number; at: number; resync: boolean }>> = [];
    for (let r = 0; r < ROUTERS; r++) {
      const c = await conn(r + 1);
      const router = await RingRouter.start({ store: c.store(), ...ROUTER });
      closers.push(() => router.close());
      const mine: Array<{ epoch: string; version: number; at: number; resync: boolean }> = [];
      applied.push(mine);
      let resynced: RingState | null = null; // 'resync' comes right before the 'change' of the same state
      router.on('resync', (state) => (resynced = state));
      router.on('change', (_diff, state) => {
        mine.push({ epoch: state.epoch, version: state.version, at: performance.now(), resync: resynced === state });
        resynced = null;
      });
      router.on('error', report(engine.name, 'router'));
    }
    const members = (await conn(ROUTERS + 1)).membership();
    for (const node of BASE) await withTimeout(members.join(node), WAIT_MS, `${node.id} to join`);
    let extra: { leave(): Promise<void> } | null = null;

    /** When the last router applied `state` (or a later version of its epoch), and which router that was. */
    const appliedEverywhere = (state: RingState): { at: number; router: number; byResync: number } | undefined => {
      let last = { at: 0, router: -1, byResync: 0 };
      for (const [r, list] of applied.entries()) {
        const hit = list.find((a) => a.epoch === state.epoch && a.version >= state.version);
        if (hit === undefined) return undefined;
        if (hit.resync) last.byResync++;
        if (hit.at > last.at) last = { ...last, at: hit.at, router: r };
      }
      return last;
    };
    const written = (target: string, since: number) => writes.find((w) => w.at >= since && idsOf(w.state.nodes) === target);

    // The base ring, everywhere.
    const base = await until(() => written(idsOf(BASE), 0), `${engine.name}: the base ring written`);
    await until(() => appliedEverywhere(base.state), `${engine.name}: every router on the base ring`);

    return {
      async sample(kind) {
        const target = idsOf(kind === 'join' ? [...BASE, EXTRA] : BASE);
        const called = performance.now();
        if (kind === 'join') extra = await withTimeout(members.join(EXTRA), WAIT_MS, 'the join');
        else {
          await withTimeout(extra!.leave(), WAIT_MS, 'the leave');
          extra = null;
        }
        const write = await until(() => written(target, called), `${engine.name}: the ${kind} written`);
        const all = await until(() => appliedEverywhere(write.state), `${engine.name}: every router applying the ${kind}`);
        writes.splice(0, writes.indexOf(write));
        return { at: called, lastRouter: all.router, byResync: all.byResync, callToWrite: write.at - called, writeToAll: all.at - write.at, callToAll: all.at - called };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

// ---------------------------------------------------------------- transport

interface TransportRound {
  rate: number;
  p50: number;
  p99: number;
  missing: number;
  duplicates: number;
  zero: number;
  failed: number;
  load: number;
}

async function transportRound(engine: Engine, ring: HashRing, round: number): Promise<TransportRound> {
  const conns = await Promise.all(Array.from({ length: NODES }, (_, i) => engine.connect(i)));
  try {
    const prefix = `${PREFIX}-t${round}`;
    const transports = conns.map((c) => c.transport(prefix));
    const load = loadavg()[0]!;
    const r = await hashRoutedLoad({ transports, ring, messages: MESSAGES, window: WINDOW, bytes: BYTES, probe: true, timeoutMs: WAIT_MS, lingerMs: 200 });
    return { ...r, load };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
  }
}

// ---------------------------------------------------------------- output

const ms = (x: number): string => (Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const thousands = (x: number): string => Math.round(x).toLocaleString('en-US');
const loads = (values: readonly number[]): string => (values.length === 0 ? '-' : `${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)}`);

function percentiles(samples: readonly Sample[], pick: (s: Sample) => number): string {
  const sorted = samples.map(pick).sort((a, b) => a - b);
  return `${ms(quantile(sorted, 0.5))} / ${ms(quantile(sorted, 0.99))}`;
}

// ---------------------------------------------------------------- main

const engines: Engine[] = [];
let stopping: Promise<void> | null = null;
function stopAll(): Promise<void> {
  stopping ??= Promise.allSettled(engines.splice(0).map((e) => withTimeout(e.stop(), 15_000, `stopping ${e.name}`))).then(() => undefined);
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const raw: Record<string, unknown> = { settings: { MEMBER, COORDINATOR, ROUTER, ROUTERS, SAMPLES, MESSAGES, ROUNDS, WINDOW, BYTES } };
  for (const name of ENGINES) {
    process.stderr.write(`starting ${name}... `);
    const engine = await withTimeout(startEngine(name), 90_000, `starting ${name}`);
    engines.push(engine);
    process.stderr.write(`${engine.version}\n`);
  }
  const pkg = (name: string): string => (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  console.log(
    `\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ioredis ${pkg('ioredis')}, @nats-io/transport-node ${pkg('@nats-io/transport-node')}, ${new Date().toISOString()}; load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
  );
  for (const e of engines) console.log(`- ${e.name}: ${e.version}`);

  if (PARTS.has('convergence')) {
    console.log(
      `\nConvergence: ${ROUTERS} routers (own connection each), 1 coordinator, ${BASE.length} members + 1 that joins and leaves, ${SAMPLES} joins and ${SAMPLES} leaves per engine, in blocks of ${BLOCK} alternating across engines.\n` +
        `Settings: membership ttlMs ${MEMBER.ttlMs}, heartbeatMs ${MEMBER.heartbeatMs}; coordinator settleMs ${COORDINATOR.settleMs}, resyncMs ${COORDINATOR.resyncMs}, timeoutMs ${COORDINATOR.timeoutMs}; routers resyncMs ${ROUTER.resyncMs}, readTimeoutMs ${ROUTER.readTimeoutMs}.\n`,
    );
    const rigs = new Map<EngineName, Rig>();
    const samples = new Map<EngineName, { join: Sample[]; leave: Sample[]; load: number[] }>();
    try {
      for (const e of engines) {
        rigs.set(e.name, await convergenceRig(e));
        samples.set(e.name, { join: [], leave: [], load: [] });
      }
      for (let done = 0; done < SAMPLES; done += BLOCK) {
        for (const e of engines) {
          const s = samples.get(e.name)!;
          s.load.push(loadavg()[0]!);
          for (let i = 0; i < Math.min(BLOCK, SAMPLES - done); i++) {
            s.join.push(await rigs.get(e.name)!.sample('join'));
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 100)); // random phase against the 1 s timers
            s.leave.push(await rigs.get(e.name)!.sample('leave'));
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
          }
        }
        process.stderr.write(`convergence: ${Math.min(SAMPLES, done + BLOCK)}/${SAMPLES}\n`);
      }
    } finally {
      await Promise.allSettled([...rigs.values()].map((rig) => rig.close()));
    }
    raw.convergence = Object.fromEntries(samples);
    console.log('| engine | join: write -> all routers, p50 / p99 ms | join: call -> all routers, p50 / p99 ms | leave: write -> all routers, p50 / p99 ms | leave: call -> all routers, p50 / p99 ms | call -> write (join), p50 ms | changes a router applied from its periodic re-read | load average |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const e of engines) {
      const s = samples.get(e.name)!;
      console.log(
        `| ${LABELS[e.name]} | ${percentiles(s.join, (x) => x.writeToAll)} | ${percentiles(s.join, (x) => x.callToAll)} | ${percentiles(s.leave, (x) => x.writeToAll)} | ${percentiles(s.leave, (x) => x.callToAll)} | ${ms(median(s.join.map((x) => x.callToWrite)))} | ${[...s.join, ...s.leave].filter((x) => x.byResync > 0).length} | ${loads(s.load)} |`,
      );
    }
  }

  if (PARTS.has('transport')) {
    const ring = new HashRing({ hasher: await createXxHash32() }, Array.from({ length: NODES }, (_, i) => ({ id: `node-${i}` })));
    const rounds = new Map<EngineName, TransportRound[]>(engines.map((e) => [e.name, []]));
    for (const e of engines) await transportRound(e, ring, -1); // warm-up (JIT, connections), not reported
    for (let r = 0; r < ROUNDS; r++) {
      for (const e of engines) rounds.get(e.name)!.push(await transportRound(e, ring, r));
      process.stderr.write(`transport: round ${r + 1}/${ROUNDS}\n`);
    }
    raw.transport = Object.fromEntries(rounds);
    console.log(
      `\nTransport: ${NODES} node transports (own connection each), ${MESSAGES.toLocaleString('en-US')} hash-routed messages of ${BYTES} bytes per round, at most ${WINDOW} in flight, ${ROUNDS} rounds per engine (alternating, after a warm-up round); medians over the rounds.\n`,
    );
    console.log('| engine | messages/s | p50 ms | p99 ms | lost | duplicates | publishes "0 receivers" | publishes rejected | load average |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const e of engines) {
      const rs = rounds.get(e.name)!;
      const sum = (pick: (r: TransportRound) => number) => rs.reduce((a, r) => a + pick(r), 0);
      console.log(
        `| ${LABELS[e.name]} | ${thousands(median(rs.map((r) => r.rate)))} | ${ms(median(rs.map((r) => r.p50)))} | ${ms(median(rs.map((r) => r.p99)))} | ${sum((r) => r.missing)} | ${sum((r) => r.duplicates)} | ${sum((r) => r.zero)} | ${sum((r) => r.failed)} | ${loads(rs.map((r) => r.load))} |`,
      );
    }
  }

  if (JSON_PATH !== undefined) writeFileSync(JSON_PATH, JSON.stringify({ ...raw, reported: Object.fromEntries(reported) }, null, 1));
  console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (reported.size === 0) console.log('errors reported by the adapters, routers and coordinators: none');
  else for (const [key, count] of reported) console.log(`reported: ${key} x ${count} (first: ${firstReports.get(key)})`);
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await stopAll();
}
process.exit(failed ? 1 : 0);
