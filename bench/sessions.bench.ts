/**
 * ringroute/sessions benchmarks (tinybench):
 *
 *   npm run bench:sessions                    # every case
 *   npm run bench:sessions -- moved           # one case
 *   npm run bench:sessions -- moved --sessions=10000,100000
 *
 * Cases:
 * - `moved`: a node of a 10-node ring (160 vnodes) holds N sessions; an 11th
 *   node joins. Finding the sessions to hand over with the by-hash index
 *   (`SessionNode.movedKeys(diff)`) against scanning every session with
 *   `diff.owner(key)` (and `diff.movedKeys(keys)`), on the same keys.
 * - `memory`: heap per idle session in the table (attach of N sessions with
 *   a small fake socket; the sockets' own heap measured apart and subtracted).
 *   Needs `--expose-gc` (the npm script passes it).
 * - `deliver`: local `deliver()` to an attached session whose fake socket
 *   is acknowledged at once, per message, against the bare cost of building
 *   the frame and calling `send`.
 *
 * Each timed case runs 5 rounds and reports its lowest round median (other
 * processes on the machine only ever add time).
 */
import { Bench, type Task } from 'tinybench';
import { HashRing, MemoryTransport, createXxHash32 } from '../src/index.js';
import type { RingDiff } from '../src/index.js';
import { SessionNode, type RouterLike } from '../src/sessions/index.js';
import { messageFrame } from '../src/sessions/protocol.js';

const CASES = ['moved', 'memory', 'deliver'] as const;
type Case = (typeof CASES)[number];
const args = process.argv.slice(2);
const sizeArg = args.find((a) => a.startsWith('--sessions='));
const SIZES = sizeArg ? sizeArg.slice('--sessions='.length).split(',').map(Number) : [10_000, 100_000];
const asked = args.filter((a) => !a.startsWith('--'));
for (const name of asked) if (!(CASES as readonly string[]).includes(name)) throw new Error(`unknown case ${JSON.stringify(name)}; cases: ${CASES.join(', ')}`);
const selected = new Set<Case>(asked.length === 0 ? CASES : (asked as Case[]));
const ROUNDS = 5;
let sink: unknown;

const hasher = await createXxHash32();
const NODES = Array.from({ length: 10 }, (_, i) => ({ id: `node-${i}`, meta: { url: `ws://10.0.0.${i}:8080` } }));

/** A router stand-in over a ring the bench controls. */
function routerOf(ring: HashRing): RouterLike & { ring: HashRing } {
  return { ring, lookup: (key) => ring.lookup(key), on: () => undefined, off: () => undefined };
}

/** The smallest socket the table accepts; its prototype holds the methods. */
class IdleSocket {
  bufferedAmount = 0;
  send(_data: string): void {}
  close(_code: number, _reason: string): void {}
}

/** N keys owned by node-0 on `ring`. */
function localKeys(ring: HashRing, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const key = `user:${i}:${((i * 2654435761) >>> 0).toString(36)}`;
    if (ring.lookup(key).id === 'node-0') out.push(key);
  }
  return out;
}

async function nodeWith(ring: HashRing, keys: readonly string[]): Promise<{ node: SessionNode; transport: MemoryTransport }> {
  const transport = new MemoryTransport();
  const node = await SessionNode.start({ id: 'node-0', router: routerOf(ring), transport, pingIntervalMs: 0 });
  for (const key of keys) node.attach(key, new IdleSocket());
  return { node, transport };
}

function lowest(values: number[]): number {
  return Math.min(...values);
}

function medianMs(task: Task | undefined): number {
  const r = task?.result as { latency?: { p50?: number } } | undefined;
  const v = r?.latency?.p50;
  if (v === undefined) throw new Error(`task ${task?.name} has no result`);
  return v;
}

const fmt = (n: number, digits = 3): string => n.toFixed(digits);

if (selected.has('moved')) {
  console.log('\n### moved: sessions to hand over when an 11th node joins a 10-node ring\n');
  console.log('| local sessions | moved | index (ms) | scan diff.owner (ms) | diff.movedKeys (ms) | scan / index |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const size of SIZES) {
    const ring = new HashRing({ hasher }, NODES);
    const keys = localKeys(ring, size);
    const { node, transport } = await nodeWith(ring, keys);
    const diff: RingDiff = ring.clone().add({ id: 'node-10', meta: { url: 'ws://10.0.0.10:8080' } });
    const moved = node.movedKeys(diff).length;
    const expected = keys.filter((k) => diff.owner(k) !== undefined).length;
    if (moved !== expected) throw new Error(`index found ${moved} moved sessions, the scan ${expected}`);
    const results: Record<string, number[]> = { index: [], scan: [], movedKeys: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const bench = new Bench({ name: `moved-${size}`, time: 300, warmupTime: 50, iterations: 10 });
      bench.add('index', () => {
        sink = node.movedKeys(diff);
      });
      bench.add('scan', () => {
        const out: string[] = [];
        for (const key of keys) if (diff.owner(key) !== undefined) out.push(key);
        sink = out;
      });
      bench.add('movedKeys', () => {
        sink = diff.movedKeys(keys);
      });
      await bench.run();
      for (const task of bench.tasks) results[task.name]!.push(medianMs(task));
    }
    const index = lowest(results.index!);
    const scan = lowest(results.scan!);
    console.log(`| ${size.toLocaleString('en')} | ${moved.toLocaleString('en')} | ${fmt(index)} | ${fmt(scan)} | ${fmt(lowest(results.movedKeys!))} | ${fmt(scan / index, 1)} |`);
    await node.close();
    await transport.close();
  }
}

if (selected.has('memory')) {
  const gc = (globalThis as { gc?: () => void }).gc;
  console.log('\n### memory: heap per idle session\n');
  if (gc === undefined) {
    console.log('skipped: run with node --expose-gc (npm run bench:sessions does)');
  } else {
    console.log('| sessions | table heap (MB) | bytes / session | socket objects (bytes each, not counted) |');
    console.log('|---:|---:|---:|---:|');
    for (const size of SIZES) {
      const ring = new HashRing({ hasher }, NODES);
      const keys = localKeys(ring, size);
      const settle = (): number => {
        for (let i = 0; i < 4; i++) gc();
        return process.memoryUsage().heapUsed;
      };
      const base = settle();
      const sockets = keys.map(() => new IdleSocket());
      const withSockets = settle();
      const transport = new MemoryTransport();
      const node = await SessionNode.start({ id: 'node-0', router: routerOf(ring), transport, pingIntervalMs: 0 });
      const empty = settle();
      for (let i = 0; i < keys.length; i++) node.attach(keys[i]!, sockets[i]!);
      const full = settle();
      const perSession = (full - empty) / size;
      console.log(`| ${size.toLocaleString('en')} | ${fmt((full - empty) / 1e6, 1)} | ${Math.round(perSession)} | ${Math.round((withSockets - base) / size)} |`);
      sink = [sockets, node.size];
      await node.close();
      await transport.close();
    }
  }
}

if (selected.has('deliver')) {
  console.log('\n### deliver: local delivery to an attached session, acknowledged at once\n');
  const BATCH = 1000;
  const ring = new HashRing({ hasher }, NODES);
  const keys = localKeys(ring, 1000);
  const transport = new MemoryTransport();
  const node = await SessionNode.start({ id: 'node-0', router: routerOf(ring), transport, pingIntervalMs: 0 });
  const sessions = keys.map((key) => node.attach(key, new IdleSocket())!);
  const ids = Array.from({ length: BATCH }, (_, i) => `msg-${i}`);
  const acks = ids.map((id) => `{"t":"ack","id":"${id}"}`);
  const payload = JSON.stringify({ from: 'user:1', text: 'hello there, this is a chat message' });
  const socket = new IdleSocket();
  const results: Record<string, number[]> = { deliver: [], send: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const bench = new Bench({ name: 'deliver', time: 400, warmupTime: 100 });
    bench.add('deliver', async () => {
      // Ids can repeat across batches: each message is acknowledged (and leaves the session) before the next.
      const pending: Array<Promise<unknown>> = [];
      for (let i = 0; i < BATCH; i++) {
        const session = sessions[i % sessions.length]!;
        pending.push(node.deliver(session.key, payload, { id: ids[i]! }));
        session.receive(acks[i]!);
      }
      sink = await Promise.all(pending);
    });
    bench.add('send', () => {
      for (let i = 0; i < BATCH; i++) socket.send(messageFrame(ids[i]!, payload));
      sink = acks;
    });
    await bench.run();
    for (const task of bench.tasks) results[task.name]!.push(medianMs(task));
  }
  const perMessage = (lowest(results.deliver!) * 1000) / BATCH; // ms per batch -> us per message
  const bare = (lowest(results.send!) * 1000) / BATCH;
  console.log('| case | us / message |');
  console.log('|---|---:|');
  console.log(`| deliver + ack + outcome | ${fmt(perMessage)} |`);
  console.log(`| bare frame + send (baseline) | ${fmt(bare)} |`);
  console.log(`| overhead of deliver | ${fmt(perMessage - bare)} |`);
  const stats = node.stats();
  if (stats.delivered === 0 || stats.inFlight !== 0) throw new Error(`deliver bench: ${JSON.stringify(stats)}`);
  await node.close();
  await transport.close();
}

console.log(`\nNode ${process.version}; lowest of ${ROUNDS} round medians; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
void sink;
