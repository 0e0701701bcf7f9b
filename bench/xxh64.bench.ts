/**
 * The JavaScript xxHash64 (`src/proxy/envoy/xxh64.ts`, Envoy's hash) against
 * xxhash-wasm's `h64` (which returns a bigint) and against the ring's default
 * hash, xxHash32 (`xxh32(key, 0)` of `src/ring/hasher.ts`, after
 * `createXxHash32()`), over pools of 200,000 distinct flat strings:
 *
 * - `short`: `user:100000` to `user:299999` (11 ASCII characters), the
 *   target case;
 * - `long`: the same ids padded to 48 ASCII characters (one 32-byte stripe
 *   and a tail);
 * - `utf8`: `usér:100000` ..., 11 characters and 12 UTF-8 bytes (the
 *   TextEncoder path).
 *
 *   npx tsx bench/xxh64.bench.ts [--rounds=5] [--only=short,long,utf8]
 *
 * Each pool runs in interleaved rounds (every case once per round, one after
 * the other); a case's figure is the median of its round medians, in ns per
 * key, and its ratio to xxh32 is the median of the ratios taken within one
 * round, so a burst of load from other processes hits both sides alike.
 * Every case consumes its whole result: xxh32 its 32 bits, xxh64 both words
 * (the return and `xxh64Result.lo`), `h64` its bigint (compared with 0n).
 */
import { Bench } from 'tinybench';
import xxhash from 'xxhash-wasm';
import { xxh64, xxh64Result, xxh64Signed } from '../src/proxy/envoy/xxh64.js';
import { createXxHash32, xxh32 } from '../src/ring/hasher.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(opt('rounds') ?? 5);
const ONLY = opt('only')?.split(',');
const POOL = 200_000;
const BATCH = 1000;

await createXxHash32();
const { h64 } = await xxhash();

/** Flat strings (JSON.parse), as keys arrive from a socket. */
const flat = (keys: string[]): string[] => JSON.parse(JSON.stringify(keys)) as string[];
const POOLS: Record<string, string[]> = {
  short: flat(Array.from({ length: POOL }, (_, i) => `user:${100_000 + i}`)),
  long: flat(Array.from({ length: POOL }, (_, i) => `user:${100_000 + i}:`.padEnd(48, 'abcdefgh'))),
  utf8: flat(Array.from({ length: POOL }, (_, i) => `usér:${100_000 + i}`)),
};

let sink = 0;
let cursor = 0;

// One loop per case, written out: a shared loop calling `op(key)` would be a
// megamorphic call site and charge every case an indirect call.
function xxh32Batch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= xxh32(pool[i]!, 0);
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}
function xxh64Batch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= xxh64(pool[i]!) ^ xxh64Result.lo;
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}
function xxh64SignedBatch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= xxh64Signed(pool[i]!) ^ xxh64Result.lo;
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}
function h64Batch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    if (h64(pool[i]!, 0n) === 0n) acc++;
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}

const CASES = ['xxh32', 'xxh64', 'xxh64Signed', 'h64'] as const;
type Case = (typeof CASES)[number];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

console.log(`xxHash64 in JavaScript against xxhash-wasm h64 and the ring's xxh32; Node ${process.version}; ${POOL.toLocaleString('en')} distinct keys per pool; ns per key, median of ${ROUNDS} round medians (ratio to xxh32: median of the per-round ratios, min-max)\n`);
console.log('| keys | xxh32 (ns) | xxh64 (ns) | xxh64Signed (ns) | h64 bigint (ns) | xxh64 / xxh32 | h64 / xxh64 |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, pool] of Object.entries(POOLS)) {
  if (ONLY && !ONLY.includes(name)) continue;
  const ns: Record<Case, number[]> = { xxh32: [], xxh64: [], xxh64Signed: [], h64: [] };
  const ratio: number[] = [];
  const wasmRatio: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ name: `${name}-${round}`, time: 150, warmupTime: 50 });
    bench
      .add('xxh32', () => xxh32Batch(pool))
      .add('xxh64', () => xxh64Batch(pool))
      .add('xxh64Signed', () => xxh64SignedBatch(pool))
      .add('h64', () => h64Batch(pool));
    await bench.run();
    const got: Partial<Record<Case, number>> = {};
    for (const task of bench.tasks) {
      const r = task.result;
      if (r?.state !== 'completed') throw new Error(`${name}/${task.name}: ${r?.state}`);
      got[task.name as Case] = (r.latency.p50 * 1e6) / BATCH;
      ns[task.name as Case].push(got[task.name as Case]!);
    }
    ratio.push(got.xxh64! / got.xxh32!);
    wasmRatio.push(got.h64! / got.xxh64!);
  }
  const r = `${median(ratio).toFixed(2)} (${Math.min(...ratio).toFixed(2)}-${Math.max(...ratio).toFixed(2)})`;
  const w = `${median(wasmRatio).toFixed(2)} (${Math.min(...wasmRatio).toFixed(2)}-${Math.max(...wasmRatio).toFixed(2)})`;
  console.log(`| ${name} | ${median(ns.xxh32).toFixed(1)} | ${median(ns.xxh64).toFixed(1)} | ${median(ns.xxh64Signed).toFixed(1)} | ${median(ns.h64).toFixed(1)} | ${r} | ${w} |`);
}
void sink;
