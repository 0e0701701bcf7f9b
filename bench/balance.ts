/**
 * The balance / vnodes trade-off, measured: for each vnodes setting, builds
 * many random 10-node clusters and reports how much the busiest node owns
 * compared with the mean, plus the memory and build time of one ring.
 *
 *   npm run bench:balance                 # 1000 clusters per setting
 *   npm run bench:balance -- 200          # fewer clusters, faster
 *
 * Node names are random (seeded, so runs are repeatable); balance depends
 * only on where the names hash, never on the names' look.
 */
import { performance } from 'node:perf_hooks';
import { HashRing, createXxHash32 } from '../src/index.js';

const VNODES = [10, 20, 40, 80, 160, 320, 640];
const NODES = 10;
const clusters = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(clusters) || clusters < 1) throw new Error(`usage: balance.ts [clusters], got ${process.argv[2]}`);

const hasher = await createXxHash32();

/** mulberry32: a small seeded PRNG, so every run measures the same clusters. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomName(rand: () => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-.';
  let s = '';
  const length = 6 + Math.floor(rand() * 10);
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// Warm the JIT up first, so the first row's build time is not its compile time.
for (let w = 0; w < 200; w++) new HashRing({ hasher, vnodes: 160 }, Array.from({ length: NODES }, (_, i) => ({ id: `warm-${w}-${i}` })));

const rows: string[] = [];
for (const vnodes of VNODES) {
  const rand = prng(0x5eed + vnodes);
  const ratios: number[] = [];
  let buildMs = 0;
  let bytes = 0;
  for (let c = 0; c < clusters; c++) {
    const ids = new Set<string>();
    while (ids.size < NODES) ids.add(randomName(rand));
    const t0 = performance.now();
    const ring = new HashRing({ hasher, vnodes }, [...ids].map((id) => ({ id })));
    buildMs += performance.now() - t0;
    bytes = ring.byteLength;
    const shares = [...ring.ownership().values()];
    ratios.push(Math.max(...shares) / (1 / NODES));
  }
  ratios.sort((a, b) => a - b);
  const within = ratios.filter((r) => r <= 1.25).length / ratios.length;
  rows.push(
    `| ${vnodes} | ${quantile(ratios, 0.5).toFixed(3)} | ${quantile(ratios, 0.95).toFixed(3)} | ${ratios[ratios.length - 1]!.toFixed(3)} | ${(within * 100).toFixed(1)}% | ${NODES * vnodes} | ${bytes} | ${((buildMs / clusters) * 1000).toFixed(0)} |`,
  );
}

console.log(`Balance of ${clusters} random ${NODES}-node clusters per row (busiest node's share / mean share), Node ${process.version}\n`);
console.log('| vnodes | busiest/mean p50 | p95 | max | clusters within 1.25x | points | bytes | build (µs) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
