/**
 * RecentOutcomes micro-benchmark (tinybench):
 *
 *   npm run bench:recent                     # max 100,000 and 10,000
 *   npm run bench:recent -- --max=1000,100000
 *
 * Steady state of a Dispatcher's or Courier's remembered outcomes: the
 * table is full (`max` entries) and every `set()` is of a fresh id, so each
 * one also forgets the oldest entry. The ids come from a pool four times
 * `max` (made before timing), so no id is still present when it comes round
 * again. The window is long enough that nothing expires by time.
 *
 * Each task call does BATCH sets; the figure is the task median divided by
 * BATCH, the lowest of ROUNDS rounds (other processes only ever add time).
 */
import { Bench, type Task } from 'tinybench';
import type { DeliveryOutcome } from '../src/sessions/outcome.js';
import { RecentOutcomes } from '../src/sessions/recent.js';

const args = process.argv.slice(2);
const maxArg = args.find((a) => a.startsWith('--max='));
const MAXES = maxArg ? maxArg.slice('--max='.length).split(',').map(Number) : [100_000, 10_000];
const ROUNDS = 5;
const BATCH = 1000;
const OUTCOME: DeliveryOutcome = { status: 'delivered', key: 'user:1', node: 'node-0' };
let sink: unknown;

function medianMs(task: Task | undefined): number {
  const r = task?.result as { latency?: { p50?: number } } | undefined;
  const v = r?.latency?.p50;
  if (v === undefined) throw new Error(`task ${task?.name} has no result`);
  return v;
}

console.log('\n### RecentOutcomes.set() of a fresh id on a full table (evicts the oldest)\n');
console.log('| max | ns / set (median) | ns / get of a present id (median) |');
console.log('|---:|---:|---:|');
for (const max of MAXES) {
  const pool = Array.from({ length: max * 4 }, (_, i) => `m${i.toString(36)}:${((i * 2654435761) >>> 0).toString(36)}\0user:${i % 977}`);
  const recent = new RecentOutcomes(3_600_000, max);
  const now = Date.now();
  let next = 0;
  for (; next < max; next++) recent.set(pool[next]!, OUTCOME, now);
  if (recent.size !== max) throw new Error(`prefill: size ${recent.size}, want ${max}`);
  const sets: number[] = [];
  const gets: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ name: `recent-${max}`, time: 500, warmupTime: 100 });
    bench.add('set', () => {
      for (let i = 0; i < BATCH; i++) {
        recent.set(pool[next]!, OUTCOME, now);
        next = next + 1 === pool.length ? 0 : next + 1;
      }
    });
    bench.add('get', () => {
      // The last max ids set are the ones present.
      let found = 0;
      for (let i = 1; i <= BATCH; i++) {
        const at = (next - (i * 97) % max - 1 + pool.length) % pool.length;
        if (recent.get(pool[at]!, now) !== undefined) found++;
      }
      if (found !== BATCH) throw new Error(`get found ${found} of ${BATCH}`);
      sink = found;
    });
    await bench.run();
    sets.push(medianMs(bench.tasks.find((t) => t.name === 'set')));
    gets.push(medianMs(bench.tasks.find((t) => t.name === 'get')));
    if (recent.size !== max) throw new Error(`size ${recent.size}, want ${max}`);
  }
  const ns = (ms: number): string => ((ms * 1e6) / BATCH).toFixed(0);
  console.log(`| ${max.toLocaleString('en')} | ${ns(Math.min(...sets))} | ${ns(Math.min(...gets))} |`);
}

console.log(`\nNode ${process.version}; batches of ${BATCH}; lowest of ${ROUNDS} round medians; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
void sink;
