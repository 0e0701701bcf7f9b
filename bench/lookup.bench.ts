/**
 * Lookup speed against the targets of issue 24, all in one run (tinybench):
 *
 * - the bare xxhash-wasm `h32(key)` call and `lookup` on default rings of
 *   10, 100 and 1,000 nodes (160 vnodes), over 200,000 distinct keys;
 * - `lookupMany` per key against a loop of `lookup` over the same keys, at
 *   batch sizes 1,000 / 10,000 / 100,000 / 1,000,000 (one call per batch,
 *   consecutive slices of a pool of 1,000,000 distinct keys), on rings of 10
 *   and 1,000 nodes;
 * - `lookup` on rings with every other placement (nginx, HAProxy, resty.chash,
 *   Envoy's ring_hash and maglev, ringroute's Maglev) against the default
 *   ring's, at 10, 100 and 1,000 nodes, over the 200,000 keys.
 *
 *   npm run bench:lookup                        # everything
 *   npm run bench:lookup -- --rounds=7          # more rounds
 *   npm run bench:lookup -- --only=lookup       # one part: lookup, many or placements
 *
 * Every part runs in interleaved rounds (each round runs every case of the
 * part once, one after the other); each case's figure is the median of its
 * round medians, and each ratio is the median of the ratios taken within
 * one round (min to max in brackets), so a burst of load from other
 * processes hits both sides of a ratio alike.
 *
 * The other placements run last, each in a child process of its own beside
 * the default ring (see part 3), as a user's process routes with one
 * placement; the ratio is against the default ring in the same rounds.
 */
import { Bench, type Task } from 'tinybench';
import xxhash from 'xxhash-wasm';
import { HashRing, createXxHash32 } from '../src/index.js';
import type { RingNode } from '../src/index.js';
import { maglevPlacement } from '../src/index.js';
import { envoyMaglevPlacement, envoyRingHashPlacement } from '../src/proxy/envoy/index.js';
import { haproxyPlacement } from '../src/proxy/haproxy/index.js';
import { nginxPlacement } from '../src/proxy/nginx/index.js';
import { restyChashPlacement } from '../src/proxy/resty/index.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(opt('rounds') ?? 5);
const ONLY = opt('only');
/** Set in the child processes of part 3: the one placement to measure. */
const CHILD = opt('placement');
const VNODES = 160;
const POOL = 200_000;
const BIG_POOL = 1_000_000;
const BATCH = 1000;
const SIZES = [10, 100, 1000];
const MANY_SIZES = [10, 1000];
const MANY_BATCHES = [1_000, 10_000, 100_000, 1_000_000];

const hasher = await createXxHash32();
const { h32 } = await xxhash();
// Flat strings (JSON.parse), as keys arrive from a socket: `user:<i>:<base36>`, 8 to 20 characters.
const big = JSON.parse(JSON.stringify(Array.from({ length: BIG_POOL }, (_, i) => `user:${i}:${((i * 2654435761) >>> 0).toString(36)}`))) as string[];
const pool = big.slice(0, POOL);

let sink: unknown;
let cursor = 0;

// One loop per case, written out: a shared loop calling `op(key)` would be a
// megamorphic call site and charge every case an indirect call.
function hashBatch(): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= h32(pool[i]!);
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink = acc;
}

function lookupBatch(ring: HashRing): void {
  let i = cursor;
  let last: RingNode | undefined;
  for (let k = 0; k < BATCH; k++) {
    last = ring.lookup(pool[i]!);
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink = last;
}

/** `lookup` over every key of one batch array (the reference of lookupMany on the same keys). */
function lookupLoop(ring: HashRing, keys: readonly string[]): void {
  let last: RingNode | undefined;
  for (let k = 0; k < keys.length; k++) last = ring.lookup(keys[k]!);
  sink = last;
}

function nodesOf(n: number): RingNode[] {
  return Array.from({ length: n }, (_, i) => ({ id: `node-${i}` }));
}

function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The task's median sample in ms, or undefined when it did not run. */
function medianMs(task: Task | undefined): number | undefined {
  const r = task?.result;
  if (r === undefined) return undefined;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') return undefined;
  return r.latency.p50;
}

/** Per case, its per-round medians in ns per key. */
type Rounds = Map<string, number[]>;

async function runRounds(label: string, setup: (bench: Bench) => void, perKey: (name: string) => number, opts: { time: number; iterations: number }): Promise<Rounds> {
  const out: Rounds = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ name: `${label}-${round}`, time: opts.time, warmupTime: 50, iterations: opts.iterations, warmupIterations: 2 });
    setup(bench);
    await bench.run();
    for (const task of bench.tasks) {
      const ms = medianMs(task);
      if (ms === undefined) continue;
      const list = out.get(task.name) ?? [];
      list.push((ms * 1e6) / perKey(task.name));
      out.set(task.name, list);
    }
    process.stderr.write(`${label}: round ${round + 1}/${ROUNDS} done\n`);
  }
  return out;
}

const fmt = (v: number | undefined, digits = 1): string => (v === undefined ? '–' : v.toFixed(digits));
/** Median of the per-round ratios a/b, with their range. */
function ratio(rounds: Rounds, a: string, b: string, bFallback?: readonly number[]): string {
  const xs = rounds.get(a);
  const ys = rounds.get(b) ?? bFallback;
  if (xs === undefined || ys === undefined) return '–';
  const rs = xs.map((x, i) => x / ys[Math.min(i, ys.length - 1)]!);
  return `${medianOf(rs).toFixed(2)} (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
}
const med = (rounds: Rounds, name: string): number | undefined => {
  const xs = rounds.get(name);
  return xs === undefined ? undefined : medianOf(xs);
};

const rings = new Map(SIZES.map((size) => [size, new HashRing({ hasher, vnodes: VNODES }, nodesOf(size))]));

if (CHILD === undefined) console.log(`ringroute lookups; Node ${process.version}; ${ROUNDS} interleaved rounds, median of round medians; ratios: median of per-round ratios (min–max)\n`);

// Part 1: bare h32 and lookup, 200,000 distinct keys.
if (CHILD === undefined && (ONLY === undefined || ONLY === 'lookup')) {
  const single = await runRounds(
    'lookup',
    (bench) => {
      bench.add('h32', hashBatch);
      for (const [size, ring] of rings) bench.add(`lookup-${size}`, () => lookupBatch(ring));
    },
    () => BATCH,
    { time: 200, iterations: 20 },
  );
  {
    console.log(`lookup against the bare xxhash-wasm h32(key), ${POOL.toLocaleString('en')} distinct keys (user:<i>:<base36>), ${VNODES} vnodes:\n`);
    console.log('| nodes | points | h32 (ns) | lookup (ns) | lookup / h32 | target |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const [size, ring] of rings) {
      const target = size === 10 ? '≤ 0.8' : size === 1000 ? '≤ 1.0' : '';
      console.log(`| ${size} | ${ring.points} | ${fmt(med(single, 'h32'))} | ${fmt(med(single, `lookup-${size}`))} | ${ratio(single, `lookup-${size}`, 'h32')} | ${target} |`);
    }
    console.log('');
  }
}

// Part 2: lookupMany at batch sizes from 1,000 to 1,000,000, against a loop of lookup over the same keys.
if (CHILD === undefined && (ONLY === undefined || ONLY === 'many')) {
  const slices = new Map(MANY_BATCHES.map((b) => [b, Array.from({ length: BIG_POOL / b }, (_, i) => big.slice(i * b, (i + 1) * b))]));
  const cursors = new Map<string, number>();
  const next = (name: string, count: number): number => {
    const c = cursors.get(name) ?? 0;
    cursors.set(name, c + 1 === count ? 0 : c + 1);
    return c;
  };
  const many = new Map<number, Rounds>();
  // lookupMany(keys, out): one result array per batch size, written again by every call.
  const outs = new Map(MANY_BATCHES.map((b) => [b, [] as RingNode[]]));
  for (const size of MANY_SIZES) {
    const ring = rings.get(size)!;
    const rounds = await runRounds(
      `lookupMany-${size}`,
      (bench) => {
        for (const b of MANY_BATCHES) {
          const arrays = slices.get(b)!;
          bench.add(`many-${b}`, () => void (sink = ring.lookupMany(arrays[next(`many-${b}`, arrays.length)]!)));
          bench.add(`out-${b}`, () => void (sink = ring.lookupMany(arrays[next(`out-${b}`, arrays.length)]!, outs.get(b)!)));
          bench.add(`loop-${b}`, () => lookupLoop(ring, arrays[next(`loop-${b}`, arrays.length)]!));
        }
      },
      (name) => Number(name.slice(name.indexOf('-') + 1)),
      { time: 300, iterations: 5 },
    );
    many.set(size, rounds);
  }
  console.log(`lookupMany(keys) per key against lookup(key) in a loop over the same keys: one call per batch, consecutive slices of ${BIG_POOL.toLocaleString('en')} distinct keys, ${VNODES} vnodes (target: ≤ 0.8 at every batch size):\n`);
  console.log('| nodes | keys per call | lookup loop (ns/key) | lookupMany (ns/key) | lookupMany / lookup | lookupMany with `out` (ns/key) | with `out` / lookup |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const [size, rounds] of many) {
    for (const b of MANY_BATCHES) {
      console.log(
        `| ${size} | ${b.toLocaleString('en')} | ${fmt(med(rounds, `loop-${b}`))} | ${fmt(med(rounds, `many-${b}`))} | ${ratio(rounds, `many-${b}`, `loop-${b}`)} | ${fmt(med(rounds, `out-${b}`))} | ${ratio(rounds, `out-${b}`, `loop-${b}`)} |`,
      );
    }
  }
  console.log('');
}

// Part 3: every other placement's lookups, each in a process of its own
// with only the default ring beside it: a process that routes with one
// placement has one hash function at `lookup`'s call site, as a user's does
// (with all six in one process the call is megamorphic and every placement
// pays for the others).
const PLACEMENTS = ['nginx', 'haproxy', 'resty', 'envoy-ring-hash', 'envoy-maglev', 'maglev'] as const;
type PlacementName = (typeof PLACEMENTS)[number];

function placementRing(name: PlacementName, nodes: RingNode[]): HashRing {
  switch (name) {
    case 'nginx':
      return new HashRing({ placement: nginxPlacement() }, nodes);
    case 'haproxy':
      // Explicit HAProxy ids: ids derived from 1,000 node names would collide.
      return new HashRing({ placement: haproxyPlacement() }, nodes.map((n, i) => ({ ...n, meta: { haproxyId: String(i + 1) } })));
    case 'resty':
      return new HashRing({ placement: restyChashPlacement({ servers: 'ingress-nginx' }) }, nodes);
    case 'envoy-ring-hash':
      return new HashRing({ placement: envoyRingHashPlacement() }, nodes);
    case 'envoy-maglev':
      return new HashRing({ placement: envoyMaglevPlacement() }, nodes);
    case 'maglev':
      return new HashRing({ placement: maglevPlacement({ hasher }) }, nodes);
  }
}

interface PlacementRow {
  readonly size: number;
  readonly def: number | undefined;
  readonly value: number | undefined;
  readonly ratio: string;
}

if (CHILD !== undefined) {
  const name = CHILD as PlacementName;
  const own = new Map(SIZES.map((size) => [size, placementRing(name, nodesOf(size))]));
  const rounds = await runRounds(
    name,
    (bench) => {
      for (const size of SIZES) {
        bench.add(`default-${size}`, () => lookupBatch(rings.get(size)!));
        bench.add(`${name}-${size}`, () => lookupBatch(own.get(size)!));
      }
    },
    () => BATCH,
    { time: 200, iterations: 20 },
  );
  const rows: PlacementRow[] = SIZES.map((size) => ({ size, def: med(rounds, `default-${size}`), value: med(rounds, `${name}-${size}`), ratio: ratio(rounds, `${name}-${size}`, `default-${size}`) }));
  console.log(`RESULT ${JSON.stringify(rows)}`);
} else if (ONLY === undefined || ONLY === 'placements') {
  const { execFileSync } = await import('node:child_process');
  const script = new URL(import.meta.url).pathname;
  console.log(`lookup on every other placement against the default ring, each in its own process, ${POOL.toLocaleString('en')} distinct keys (target: ≤ 1.5 × default):\n`);
  console.log('| placement | nodes | default, same rounds (ns) | placement (ns) | placement / default |');
  console.log('|---|---:|---:|---:|---:|');
  for (const name of PLACEMENTS) {
    const out = execFileSync(process.execPath, [...process.execArgv, script, `--placement=${name}`, `--rounds=${ROUNDS}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined) throw new Error(`no result from the ${name} process`);
    for (const row of JSON.parse(line.slice(7)) as PlacementRow[]) console.log(`| ${name} | ${row.size} | ${fmt(row.def)} | ${fmt(row.value)} | ${row.ratio} |`);
  }
  console.log(
    '\nnginx: 160 points per node, CRC32 of the key bytes; haproxy: 16 points per node, sdbm then full_hash, nearest point; resty: resty.chash (ingress-nginx), CRC32; envoy-ring-hash: Envoy ring_hash at its defaults, xxHash64; envoy-maglev: Envoy maglev, table 65537, xxHash64 mod 65537; maglev: ringroute maglevPlacement(), table 65537, xxHash32 mod 65537.',
  );
}
void sink;
