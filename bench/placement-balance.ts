/**
 * Balance and movement of every placement, measured: for 10, 100 and 1,000
 * equal-weight nodes, how much the busiest node owns, how much of the key
 * space a join and a leave move (against the ideal 1/(N+1) and 1/N), how
 * much of it moves between nodes that were there before and after, and what
 * a build and a join cost.
 *
 *   npm run bench:placements              # 10, 100 and 1,000 nodes
 *   npm run bench:placements -- 10,100    # some sizes only
 *
 * Shares and moved fractions are exact (`ownership()`, `diff.movedFraction`,
 * `diff.ranges`); the "keys" columns count 200,000 distinct keys `user:<i>`
 * (`lookupMany`, `diff.movedKeys`), a sample; `movedKeys` is checked
 * against brute force (`lookupMany` before and after the change) on the first
 * 20,000 of them. Times (median and lowest of several runs) are taken
 * before each size's key work, so little of its garbage is collected in them.
 */
import { performance } from 'node:perf_hooks';
import { HashRing, createXxHash32, maglevPlacement, type MovedRange, type Placement, type RingDiff, type RingNode } from '../src/index.js';
import { envoyMaglevPlacement, envoyRingHashPlacement } from '../src/proxy/envoy/index.js';
import { nginxPlacement } from '../src/proxy/nginx/index.js';
import { restyChashPlacement } from '../src/proxy/resty/index.js';

const SIZES = (process.argv[2] ?? '10,100,1000').split(',').map(Number);
if (SIZES.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`usage: placement-balance.ts [sizes, e.g. 10,100,1000], got ${process.argv[2]}`);
const KEY_COUNT = 200_000;
/**
 * Keys whose owners are compared before and after each change, to check
 * `movedKeys` against brute force: a check, not a measurement, so a tenth of
 * the keys is enough and keeps the run short.
 */
const CHECK_COUNT = 20_000;
const SPACE32 = 2 ** 32;

const hasher = await createXxHash32();

interface Subject {
  readonly name: string;
  /** Options of `new HashRing(options, nodes)`. */
  readonly options: { hasher?: typeof hasher; placement?: Placement };
  /** Node ids: `node-<i>`, or an address for the proxies that hash one. */
  readonly id: (i: number) => string;
  /** Size of the key coordinate space (Maglev: its table size). */
  readonly space: number;
}

const address = (i: number): string => `10.0.${i >> 8}.${i & 255}:8080`;
const plain = (i: number): string => `node-${i}`;

const SUBJECTS: Subject[] = [
  { name: 'default ring (160 points per node)', options: { hasher }, id: plain, space: SPACE32 },
  { name: 'maglevPlacement (65537)', options: { placement: maglevPlacement({ hasher }) }, id: plain, space: 65537 },
  { name: 'envoyRingHashPlacement (min 1024)', options: { placement: envoyRingHashPlacement() }, id: plain, space: SPACE32 },
  { name: 'envoyMaglevPlacement (65537)', options: { placement: envoyMaglevPlacement() }, id: plain, space: 65537 },
  { name: 'nginxPlacement (160 per node)', options: { placement: nginxPlacement() }, id: address, space: SPACE32 },
  { name: "restyChashPlacement ('ingress-nginx')", options: { placement: restyChashPlacement({ servers: 'ingress-nginx' }) }, id: address, space: SPACE32 },
];

const keys = Array.from({ length: KEY_COUNT }, (_, i) => `user:${i}`);
const checkKeys = keys.slice(0, CHECK_COUNT);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Share of the key space in `r`: (start, end] wrapping past `space - 1`, or part of one coordinate when it has `low`. */
function rangeShare(r: MovedRange, space: number): number {
  if (r.low !== undefined) return (r.low.last - r.low.first + 1) / SPACE32 / space;
  const length = r.end > r.start ? r.end - r.start : r.end - r.start + space;
  return length / space;
}

/** Exact share of the key space in `diff.ranges` that moved between two nodes other than `changed` (the joiner or the leaver). */
function sharedMoved(diff: RingDiff, changed: string, space: number): { total: number; between: number } {
  let total = 0;
  let between = 0;
  for (const r of diff.ranges) {
    const s = rangeShare(r, space);
    total += s;
    if (r.from !== changed && r.to !== changed) between += s;
  }
  return { total, between };
}

interface Movement {
  /** Exact: diff.movedFraction. */
  readonly moved: number;
  /** Exact: share of the key space that moved between nodes that were there before and after. */
  readonly between: number;
  /** Sample: share of the keys that moved, and of them between nodes there before and after. */
  readonly movedKeys: number;
  readonly betweenKeys: number;
}

/** Applies `change` to a clone of `ring` and measures the diff, checked against brute force on the keys. */
function movement(ring: HashRing, before: RingNode[], change: (r: HashRing) => RingDiff, changed: string, space: number, label: string): Movement {
  const after = ring.clone();
  const diff = change(after);
  const { total, between } = sharedMoved(diff, changed, space);
  if (Math.abs(total - diff.movedFraction) > 1e-9) throw new Error(`${label}: ranges sum to ${total}, movedFraction is ${diff.movedFraction}`);
  const moved = diff.movedKeys(keys);
  const owners = after.lookupMany(checkKeys);
  let brute = 0;
  for (let i = 0; i < checkKeys.length; i++) if (before[i]!.id !== owners[i]!.id) brute++;
  const found = diff.movedKeys(checkKeys).length;
  if (brute !== found) throw new Error(`${label}: movedKeys found ${found} of the first ${checkKeys.length} keys, brute force ${brute}`);
  const betweenKeys = moved.filter((m) => m.from !== changed && m.to !== changed).length;
  return { moved: diff.movedFraction, between, movedKeys: moved.length / keys.length, betweenKeys: betweenKeys / keys.length };
}

const f = (x: number, d = 3): string => x.toFixed(d);
const pct = (x: number, d = 1): string => `${(x * 100).toFixed(d)}%`;
const ms = (x: number): string => (x < 1 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const timed = (xs: number[]): string => `${ms(median(xs))} (${ms(Math.min(...xs))})`;

/** Entries of the placement's table (table placements) or points on the ring (point placements). */
function entries(subject: Subject, ring: HashRing): number {
  const placement = subject.options.placement;
  return placement !== undefined && placement.kind === 'table' ? placement.table(ring.nodes()).positions.length : ring.points;
}

const balanceRows: string[] = [];
const joinRows: string[] = [];
const leaveRows: string[] = [];
const timeRows: string[] = [];

const started = performance.now();
for (const subject of SUBJECTS) {
  // Warm up the build, lookup and diff paths, so the first size's times are not compile times.
  const warm = new HashRing(subject.options, Array.from({ length: 20 }, (_, i) => ({ id: subject.id(i) })));
  warm.lookupMany(keys.slice(0, 10_000));
  for (let w = 0; w < 5; w++) warm.clone().add({ id: subject.id(20 + w) }).movedKeys(keys.slice(0, 10_000));

  for (const n of SIZES) {
    const nodes: RingNode[] = Array.from({ length: n }, (_, i) => ({ id: subject.id(i) }));
    const label = `${subject.name}, ${n} nodes`;
    const runs = n >= 1000 ? 9 : 21;

    // 4. Times, first: a build, and a join (`add` on a clone, diff included).
    const joiner = subject.id(n);
    const builds: number[] = [];
    const joins: number[] = [];
    let ring!: HashRing;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      ring = new HashRing(subject.options, nodes);
      builds.push(performance.now() - t0);
    }
    for (let r = 0; r < runs; r++) {
      const c = ring.clone();
      const t0 = performance.now();
      c.add({ id: joiner });
      joins.push(performance.now() - t0);
    }
    timeRows.push(`| ${subject.name} | ${n} | ${timed(builds)} | ${timed(joins)} |`);

    // 1. Balance: exact, and over the keys.
    const shares = [...ring.ownership().values()];
    const sum = shares.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-9) throw new Error(`${label}: ownership sums to ${sum}`);
    const busiest = Math.max(...shares) * n;
    const lightest = Math.min(...shares) * n;
    const before = ring.lookupMany(keys);
    const counts = new Map<string, number>();
    for (const node of before) counts.set(node.id, (counts.get(node.id) ?? 0) + 1);
    const busiestKeys = Math.max(...counts.values()) / (keys.length / n);
    balanceRows.push(`| ${subject.name} | ${n} | ${entries(subject, ring).toLocaleString('en-US')} | ${f(busiest)} | ${f(lightest)} | ${f(busiestKeys)} |`);

    // 2. A join of node N+1.
    const join = movement(ring, before, (r) => r.add({ id: joiner }), joiner, subject.space, `${label}, join`);
    const idealJoin = 1 / (n + 1);
    joinRows.push(
      `| ${subject.name} | ${n} → ${n + 1} | ${pct(join.moved, 2)} | ${pct(idealJoin, 2)} | ${f(join.moved / idealJoin, 2)} | ${pct(join.between / join.moved)} | ${pct(join.movedKeys, 2)} | ${pct(join.movedKeys === 0 ? 0 : join.betweenKeys / join.movedKeys)} |`,
    );

    // 3. A leave of the first node.
    const leaver = subject.id(0);
    const leave = movement(ring, before, (r) => r.remove(leaver), leaver, subject.space, `${label}, leave`);
    const idealLeave = 1 / n;
    leaveRows.push(
      `| ${subject.name} | ${n} → ${n - 1} | ${pct(leave.moved, 2)} | ${pct(idealLeave, 2)} | ${f(leave.moved / idealLeave, 2)} | ${pct(leave.between / leave.moved)} | ${pct(leave.movedKeys, 2)} | ${pct(leave.movedKeys === 0 ? 0 : leave.betweenKeys / leave.movedKeys)} |`,
    );
    process.stderr.write(`${label}: done at ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

// Maglev's table size against its movement: exact figures only (ownership, movedFraction, ranges), no keys.
const maglevRows: string[] = [];
for (const tableSize of [65537, 655373]) {
  const placement = maglevPlacement({ hasher, tableSize });
  for (const n of SIZES.filter((s) => s >= 100)) {
    const nodes: RingNode[] = Array.from({ length: n }, (_, i) => ({ id: plain(i) }));
    const builds: number[] = [];
    const joins: number[] = [];
    let ring!: HashRing;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      ring = new HashRing({ placement }, nodes);
      builds.push(performance.now() - t0);
    }
    let join!: RingDiff;
    for (let r = 0; r < 5; r++) {
      const c = ring.clone();
      const t0 = performance.now();
      join = c.add({ id: plain(n) });
      joins.push(performance.now() - t0);
    }
    const leave = ring.clone().remove(plain(0));
    const shares = [...ring.ownership().values()];
    const j = sharedMoved(join, plain(n), tableSize);
    const l = sharedMoved(leave, plain(0), tableSize);
    maglevRows.push(
      `| ${tableSize.toLocaleString('en-US')} | ${n} | ${f(Math.max(...shares) * n)} | ${f((join.movedFraction * (n + 1)), 2)} | ${pct(j.between / j.total)} | ${f(leave.movedFraction * n, 2)} | ${pct(l.between / l.total)} | ${timed(builds)} | ${timed(joins)} |`,
    );
  }
}
process.stderr.write(`maglev table sizes: done at ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

console.log(`Placements at ${SIZES.join(', ')} equal-weight nodes; Node ${process.version}; ${KEY_COUNT.toLocaleString('en-US')} keys user:<i>; ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
console.log('Balance: share of the busiest and the lightest node / the mean share (1/N), exact from ownership(); busiest over the keys (sampled: lookupMany of the keys, busiest count / (keys / N)).\n');
console.log('| placement | nodes | points or entries | busiest / mean | lightest / mean | busiest / mean, keys (sampled) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of balanceRows) console.log(row);
console.log('\nJoin of node N+1: moved = diff.movedFraction (exact), ideal = 1/(N+1); "between old nodes" = share of the moved space whose from and to were both there before (exact, from diff.ranges); then the same over the keys (diff.movedKeys, sampled).\n');
console.log('| placement | nodes | moved | ideal | moved / ideal | of it between old nodes | moved, keys | of it between old nodes, keys |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of joinRows) console.log(row);
console.log('\nLeave of the first node (node-0 or 10.0.0.0:8080): ideal = 1/N; "between staying nodes" = share of the moved space whose from was not the leaver.\n');
console.log('| placement | nodes | moved | ideal | moved / ideal | of it between staying nodes | moved, keys | of it between staying nodes, keys |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of leaveRows) console.log(row);
console.log('\nTimes: median (lowest) of 21 runs, 9 at 1,000 nodes, ms; a join is `add` on a clone, diff included.\n');
console.log('| placement | nodes | build (ms) | join + diff (ms) |');
console.log('|---|---:|---:|---:|');
for (const row of timeRows) console.log(row);
console.log('\nmaglevPlacement by table size (exact only; build and join: median (lowest) of 5 runs, ms).\n');
console.log('| table size | nodes | busiest / mean | join: moved / ideal | of it between old nodes | leave: moved / ideal | of it between staying nodes | build (ms) | join + diff (ms) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of maglevRows) console.log(row);
