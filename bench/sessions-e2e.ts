/**
 * End to end on this machine (not a test): 20,000 real WebSocket sessions
 * over 4 app nodes on loopback, then a fifth node joins while messages flow.
 *
 *   npm run e2e:sessions                          # 20,000 users, 4 + 1 nodes, 1000 closes/s
 *   npm run e2e:sessions -- --users=5000 --rate=200 --closes=500
 *
 * Every node and both user halves run in their own process (a process may
 * hold at most `ulimit -n` sockets), all sharing a private redis-server
 * started here on a free port (RedisRingStore for the ring, RedisTransport
 * for deliveries). This process writes the ring and sends messages with a
 * Dispatcher. It reports the share of sessions moved (consistent hashing
 * predicts 1/5 = 20%), the pace of the closes against `maxClosesPerSecond`,
 * and every message's fate: delivered (received by the user), failed
 * (reported, never received) or lost (neither: must be 0).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RingRouter } from '../src/index.js';
import { RedisRingStore, RedisTransport } from '../src/adapters/redis/index.js';
import { type DeliveryOutcome, Dispatcher, type SessionNodeStats } from '../src/sessions/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = found ? Number(found.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1`);
  return n;
};
const USERS = arg('users', 20_000);
const RATE = arg('rate', 500); // messages per second during the run
const CLOSES = arg('closes', 1000); // maxClosesPerSecond of every node
const CLIENT_PROCS = Math.max(1, Math.ceil(USERS / 10_000));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const t0 = performance.now();

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function spawn(file: string, config: unknown): ChildProcess {
  const child = fork(here(file), [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.setMaxListeners(100);
  child.once('exit', () => children.delete(child));
  return child;
}

function ask<T>(child: ChildProcess, type: string, answer = type): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${answer} from a child within 60 s`)), 60_000);
    const onMessage = (message: { type: string }) => {
      if (message.type !== answer) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    if (type !== answer || type !== 'ready') child.send({ type });
  });
}

function waitMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from a child within 60 s`)), 60_000);
    child.on('message', function onMessage(message: { type: string }) {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    });
  });
}

const server = await RedisServer.start();
const prefix = `e2e-${Date.now().toString(36)}`;
const redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
redis.on('error', () => undefined);
const store = new RedisRingStore({ redis, prefix });
log(`redis-server on ${server.url}; ${USERS} users, 4 + 1 nodes, ${RATE} messages/s, ${CLOSES} closes/s per node; load ${loadavg()[0]!.toFixed(2)}`);

const nodes = new Map<string, { child: ChildProcess; url: string }>();
async function startNode(id: string): Promise<void> {
  const child = spawn('./sessions-e2e-node.ts', { id, redisUrl: server.url, prefix, maxClosesPerSecond: CLOSES });
  const { url } = await waitMessage<{ url: string }>(child, 'ready');
  nodes.set(id, { child, url });
}
async function setRing(ids: string[]): Promise<void> {
  const current = await store.read();
  await store.compareAndSet(current?.version ?? 0, ids.map((id) => ({ id, meta: { url: nodes.get(id)!.url } })));
  const version = (await store.read())!.version;
  for (;;) {
    const all = await Promise.all([...nodes.values()].map((n) => ask<{ version: number }>(n.child, 'stats')));
    if (all.every((s) => s.version >= version)) return;
    await sleep(20);
  }
}
const stats = async () =>
  Promise.all([...nodes.values()].map(async (n) => (await ask<{ stats: SessionNodeStats }>(n.child, 'stats')).stats));

for (const id of ['node-1', 'node-2', 'node-3', 'node-4']) await startNode(id);
await setRing(['node-1', 'node-2', 'node-3', 'node-4']);
log('4 nodes up, ring v1');

const urls = [...nodes.values()].map((n) => n.url);
const clientProcs: ChildProcess[] = [];
const per = Math.ceil(USERS / CLIENT_PROCS);
for (let p = 0; p < CLIENT_PROCS; p++) {
  const child = spawn('./sessions-e2e-clients.ts', { from: p * per, count: Math.min(per, USERS - p * per), nodes: urls });
  clientProcs.push(child);
}
const connected = async () => {
  const all = await Promise.all(clientProcs.map((c) => ask<{ connected: number; moves: number }>(c, 'status')));
  return { connected: all.reduce((n, s) => n + s.connected, 0), moves: all.reduce((n, s) => n + s.moves, 0) };
};
const connectStart = performance.now();
for (;;) {
  const { connected: n } = await connected();
  if (n === USERS) break;
  if (performance.now() - connectStart > 180_000) throw new Error(`only ${n} of ${USERS} users connected after 180 s`);
  await sleep(250);
}
const before = await stats();
log(`${USERS} users connected in ${((performance.now() - connectStart) / 1000).toFixed(1)} s: ${before.map((s) => `${s.id} ${s.sessions}`).join(', ')}`);

// Traffic: RATE messages per second to random users, each with its own id.
const dispatcherRedis = new Redis(server.url, { maxRetriesPerRequest: 2 });
dispatcherRedis.on('error', () => undefined);
const router = await RingRouter.start({ store: new RedisRingStore({ redis: dispatcherRedis, prefix }), resyncMs: 500 });
const dispatcher = await Dispatcher.start({ id: 'sender', router, transport: new RedisTransport({ redis: dispatcherRedis, prefix }), maxInFlight: 100_000 });
const sent = new Map<string, { key: string; outcome?: DeliveryOutcome }>();
let seq = 0;
let random = 42;
const nextUser = () => {
  random = (Math.imul(random, 1103515245) + 12345) >>> 0;
  return `user-${random % USERS}`;
};
const traffic = setInterval(() => {
  for (let i = 0; i < RATE / 50; i++) {
    const id = `m${++seq}`;
    const key = nextUser();
    const entry: { key: string; outcome?: DeliveryOutcome } = { key };
    sent.set(id, entry);
    void dispatcher.send(key, `payload ${id}`, { id }).then((o) => (entry.outcome = o));
  }
}, 20);
await sleep(2000);

// A fifth node joins.
await startNode('node-5');
const movedBefore = before.reduce((n, s) => n + s.moved, 0);
const joinAt = performance.now();
await setRing(['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
log('node-5 joined, ring v2');
let after: Awaited<ReturnType<typeof stats>>;
for (;;) {
  after = await stats();
  const { connected: n } = await connected();
  if (after.every((s) => s.pendingCloses === 0) && n === USERS && after.reduce((m, s) => m + s.sessions, 0) === USERS) break;
  if (performance.now() - joinAt > 120_000) throw new Error('handoff did not finish within 120 s');
  await sleep(100);
}
const handoffMs = performance.now() - joinAt;
await sleep(2000);
clearInterval(traffic);
log(`handoff done in ${(handoffMs / 1000).toFixed(1)} s; draining outcomes`);
while ([...sent.values()].some((e) => e.outcome === undefined)) await sleep(100);
await sleep(500);

const received = new Map<string, Set<string>>();
for (const c of clientProcs) {
  const { received: list } = await ask<{ received: Array<[string, string]> }>(c, 'received');
  for (const [key, id] of list) {
    let set = received.get(id);
    if (set === undefined) received.set(id, (set = new Set()));
    set.add(key);
  }
}
let delivered = 0;
let failed = 0;
let lost = 0;
let unknownReceived = 0;
let falselyDelivered = 0;
const outcomes: Record<string, number> = {};
for (const [id, { key, outcome }] of sent) {
  const status = outcome!.status;
  const label = outcome!.status === 'delivered' ? 'delivered' : `${outcome!.status}: ${outcome!.reason}`;
  outcomes[label] = (outcomes[label] ?? 0) + 1;
  const got = received.get(id)?.has(key) ?? false;
  if (got) {
    delivered++;
    if (status === 'unknown') unknownReceived++;
  } else if (status === 'failed') failed++;
  else {
    lost++;
    if (status === 'delivered') falselyDelivered++;
  }
}

// Pace, measured by each node on its own clock (the moved counter every 50 ms).
const paceByNode: Record<string, { peak: number; average: number; closes: number }> = {};
for (const id of ['node-1', 'node-2', 'node-3', 'node-4']) paceByNode[id] = (await ask<{ pace: { peak: number; average: number; closes: number } }>(nodes.get(id)!.child, 'pace')).pace;
const moved = after.reduce((n, s) => n + s.moved, 0) - movedBefore;
const onNew = after.find((s) => s.id === 'node-5')!.sessions;
const result = {
  users: USERS,
  sessionsMoved: moved,
  share: Math.round((moved / USERS) * 10_000) / 100,
  expectedShare: 20,
  onNewNode: onNew,
  handoffSeconds: Math.round(handoffMs / 100) / 10,
  maxClosesPerSecond: CLOSES,
  closesPerSecondPerNode: paceByNode, // peak: highest rate over any window of >= 1 s; average: closes / (last - first close); node clocks
  messages: sent.size,
  outcomes,
  delivered,
  failed,
  lost,
  falselyDelivered,
  unknownButReceived: unknownReceived,
  load: loadavg().map((l) => Math.round(l * 100) / 100),
};
console.log(JSON.stringify(result, null, 2));

clearInterval(traffic);
await dispatcher.close();
await router.close();
for (const c of clientProcs) c.send({ type: 'stop' });
for (const n of nodes.values()) n.child.send({ type: 'stop' });
await sleep(500);
dispatcherRedis.disconnect();
redis.disconnect();
await server.destroy();
process.exit(lost === 0 ? 0 : 1);
