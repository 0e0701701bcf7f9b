/**
 * The short chaos run (docs/chaos.md): a minute of seeded faults of every
 * kind against the example cluster on hosts of its own (ip netns), a
 * Sentinel-managed Redis and users sending all along; then the history is
 * checked. Needs root, iproute2, redis-server and redis-sentinel: skipped
 * with one line without them, and failing under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { failures, kindRows } from '../../examples/chaos/report.js';
import { networkProblem } from '../../examples/chaos/network.js';
import { runChaos } from '../../examples/chaos/run.js';
import { FAULT_KINDS } from '../../examples/chaos/schedule.js';
import { storeProblem } from '../../examples/chaos/store.js';

const SUITE = 'the chaos run (a minute of seeded faults)';
const problem = networkProblem() ?? storeProblem();
if (problem !== null) {
  if (process.env.CI === 'true') {
    describe(SUITE, () => {
      it('can build its hosts and its Redis set (required when CI=true)', () => {
        throw new Error(`${SUITE}: ${problem}`);
      });
    });
  } else console.warn(`[ringroute] ${problem}: skipping ${SUITE}`);
}

describe.skipIf(problem !== null)(SUITE, () => {
  it('loses nothing, misinforms no sender, never lets two nodes serve a user beyond the fencing bound, and converges after every fault', { timeout: 300_000 }, async () => {
    const report = await runChaos({ seed: 20_261_205, durationMs: 60_000 });
    const rows = kindRows(report.faults);
    expect(rows.map((r) => r.kind)).toEqual(FAULT_KINDS);
    for (const row of rows) expect(row.count, row.kind).toBeGreaterThanOrEqual(8);
    expect(report.faults.filter((f) => f.kind === 'partition').map((f) => f.link).sort()).toEqual(expect.arrayContaining(['gateway-node', 'node-store']));
    const m = report.messages;
    expect(m.delivered).toBeGreaterThan(1000);
    expect(m.sent).toBe(m.delivered + m.failed + m.unknown);
    expect(m.lost).toBe(0);
    expect(m.failedButReceived).toBe(0);
    expect(m.duplicates).toBe(0);
    expect(m.misrouted).toBe(0);
    expect(report.ownership.maxMs).toBeLessThanOrEqual(report.settings.ttlMs);
    // A node stopped or cut off from the store for longer than its lease must have fenced itself.
    const cutOff = report.faults.some((f) => (f.kind === 'node-pause' || f.link === 'node-store') && f.durationMs > report.settings.ttlMs + 500);
    if (cutOff) expect(report.fences).toBeGreaterThan(0);
    expect(failures(report)).toEqual([]);
  });
});
