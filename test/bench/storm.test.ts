/**
 * The connection-storm benchmark (bench/storm.ts) in small: 300 users
 * arrive within one second through ringroute's gateway (its own process)
 * to 2 app-node processes; every user connects, almost always at the first
 * attempt, and the report carries every figure. Also the curve arithmetic
 * on hand-made times. (nginx and HAProxy run in `npm run bench:storm`; the
 * proxy tests in test/proxy cover their configs.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type StormReport, runStorm } from '../../bench/storm-run.js';
import { connectCurve } from '../../bench/storm-stats.js';

const N = 300;

describe('runStorm', () => {
  let report: StormReport;

  beforeAll(async () => {
    report = await runStorm({ n: [N], gateways: ['ringroute'], nodes: 2, procs: [1], holdMs: 500, warmup: 50 });
  }, 30_000);

  it('connects every user through ringroute\'s gateway, nearly all at the first attempt', () => {
    const row = report.rows.find((r) => r.gateway === 'ringroute')!;
    expect(row).toBeDefined();
    expect(row.connected).toBe(N);
    expect(row.upAtEnd).toBe(N);
    expect(row.nodeSessions).toBe(N);
    expect(row.timedOut).toBe(false);
    expect(row.attempts.perUser).toBeLessThanOrEqual(1.5);
    expect(row.dropped).toBe(0);
  });

  it('reports every figure of a run', () => {
    expect(report.machine.nproc).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    expect(report.rows).toHaveLength(1);
    for (const row of report.rows) {
      expect(row).toMatchObject({ n: N, procs: 1, binMs: 250 });
      const { p50, p90, p99, p100 } = row.msTo;
      expect(p50).not.toBeNull();
      expect(p50!).toBeLessThanOrEqual(p90!);
      expect(p90!).toBeLessThanOrEqual(p99!);
      expect(p99!).toBeLessThanOrEqual(p100!);
      expect(row.peakPerSecond).toBeGreaterThan(0);
      expect(row.connectsPerBin.reduce((a, b) => a + b, 0)).toBe(N);
      expect(row.noCollapse.bins).toBeGreaterThanOrEqual(0);
      if (row.noCollapse.minRatio !== null) expect(row.noCollapse.minRatio).toBeGreaterThanOrEqual(0);
      expect(row.noCollapse.minRatio === null || row.noCollapse.minRatio <= 1).toBe(true);
      expect(row.noCollapseStarted.minRatio === null || (row.noCollapseStarted.minRatio >= 0 && row.noCollapseStarted.minRatio <= 1)).toBe(true);
      expect(row.attempts.total).toBeGreaterThanOrEqual(N);
      expect(typeof row.refusals).toBe('object');
      expect(row.gatewayCpuSeconds).toBeGreaterThanOrEqual(0);
      expect(row.gatewayCpuByProcess.length).toBeGreaterThan(0);
      expect(row.cpuMsPer1000).not.toBeNull();
      // Two descriptors per tunnel.
      expect(row.peakDescriptors.perProcess).toBeGreaterThanOrEqual(2 * N);
      expect(row.load.before).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('connectCurve', () => {
  it('times the shares from the first arrival and bins the connects', () => {
    // 4 users arrive at 1000..1003; they connect at 1100, 1200, 1600 and 2300 (bins of 500 ms from 1000).
    const curve = connectCurve([1000, 1001, 1002, 1003], [1100, 1200, 1600, 2300], 4, 2600, 500);
    expect(curve.msTo).toEqual({ p50: 200, p90: 1300, p99: 1300, p100: 1300 });
    expect(curve.perBin).toEqual([2, 1, 1, 0]);
    expect(curve.peakPerSecond).toBe(4);
  });

  it('gives the lowest rate, as a share of the peak, while arrived users wait', () => {
    // 10 users arrive at 0; connects per 100 ms bin: 4, 1, 4, 1; waiting at the bins' ends: 6, 5, 1, 0.
    const connects = [10, 20, 30, 40, 150, 210, 220, 230, 240, 350];
    const curve = connectCurve(new Array<number>(10).fill(0), connects, 10, 400, 100);
    // Bin 0 is ignored; bins 1 and 2 ended with users waiting: 1/4 and 4/4 (bin 3 emptied the backlog).
    // The strict reading: bins 1 and 2 also started with at least a peak bin (4) waiting.
    expect(curve.noCollapse).toEqual({ minRatio: 0.25, bins: 2, minRatioPeakBacklog: 0.25 });
  });

  it('counts the bins after the arrivals while a user waits in a retry\'s backoff', () => {
    // 4 users arrive at 0; three connect in bin 0, the fourth only at 950 after a refusal: bins 1 to 8 connect nobody.
    const curve = connectCurve([0, 0, 0, 0], [10, 20, 30, 950], 4, 1000, 100);
    expect(curve.noCollapse).toEqual({ minRatio: 0, bins: 8, minRatioPeakBacklog: null });
    expect(curve.peakPerSecond).toBe(30);
  });

  it('has no ratio when connects kept pace with arrivals', () => {
    const curve = connectCurve([0, 100, 200], [50, 150, 250], 3, 300, 100);
    expect(curve.noCollapse).toEqual({ minRatio: null, bins: 0, minRatioPeakBacklog: null });
    expect(curve.msTo.p100).toBe(250);
  });

  it('leaves the shares never reached null', () => {
    const curve = connectCurve([0, 0, 0, 0], [10], 4, 1000, 250);
    expect(curve.msTo).toEqual({ p50: null, p90: null, p99: null, p100: null });
  });
});
