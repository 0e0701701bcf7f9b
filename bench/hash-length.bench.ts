/**
 * Where the default hasher's JavaScript path stops paying: xxHash32 of ASCII
 * keys of growing length, in JavaScript (`xxh32Ascii`) and through
 * xxhash-wasm's `h32`, on pools of 20,000 distinct flat strings per length.
 * `JS_HASH_MAX_LENGTH` in `src/ring/hasher.ts` is set from this table.
 *
 *   npx tsx bench/hash-length.bench.ts [--lengths=8,16,24,32,40,48,56,64]
 *
 * Each length runs in 5 rounds and reports its lowest round median, ns per hash.
 */
import { Bench } from 'tinybench';
import xxhash from 'xxhash-wasm';
import { xxh32Ascii } from '../src/ring/xxh32.js';

const arg = process.argv.slice(2).find((a) => a.startsWith('--lengths='));
const LENGTHS = arg ? arg.slice('--lengths='.length).split(',').map(Number) : [8, 16, 24, 32, 40, 48, 56, 64, 96];
const POOL = 20_000;
const BATCH = 1000;
const ROUNDS = 5;
const { h32 } = await xxhash();

let sink = 0;
let cursor = 0;
function jsBatch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= xxh32Ascii(pool[i]!, 0);
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}
function wasmBatch(pool: readonly string[]): void {
  let i = cursor;
  let acc = 0;
  for (let k = 0; k < BATCH; k++) {
    acc ^= h32(pool[i]!, 0);
    if (++i === POOL) i = 0;
  }
  cursor = i;
  sink ^= acc;
}

console.log(`xxHash32 of ASCII keys, JavaScript against xxhash-wasm; Node ${process.version}; ns per hash, lowest of ${ROUNDS} round medians\n`);
console.log('| length | JavaScript (ns) | xxhash-wasm (ns) | JavaScript / wasm |');
console.log('|---:|---:|---:|---:|');
for (const length of LENGTHS) {
  // Flat strings (JSON.parse), as keys arrive from the network.
  const pool = JSON.parse(JSON.stringify(Array.from({ length: POOL }, (_, i) => `user:${i}:`.padEnd(length, 'abcdefgh').slice(0, length)))) as string[];
  const best = { js: Infinity, wasm: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ name: `len-${length}`, time: 100, warmupTime: 30 });
    bench.add('js', () => jsBatch(pool)).add('wasm', () => wasmBatch(pool));
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r?.state === 'completed') best[task.name as 'js' | 'wasm'] = Math.min(best[task.name as 'js' | 'wasm'], (r.latency.p50 * 1e6) / BATCH);
    }
  }
  console.log(`| ${length} | ${best.js.toFixed(0)} | ${best.wasm.toFixed(0)} | ${(best.js / best.wasm).toFixed(2)} |`);
}
void sink;
