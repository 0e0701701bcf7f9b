/**
 * `ringroute bench` on the memory transport, in this process: the library's
 * Dispatcher (broadcast and hash) over SessionNodes on one MemoryTransport.
 * Every figure that counts work is checked against what the workload and
 * the ring say it must be, computed here independently of the harness.
 */
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import { generateWorkload } from '../../src/cli/workload.js';
import type { Figures } from '../../src/harness/figures.js';
import { nodeIds, runBench } from '../../src/harness/run.js';
import { defaultWorkerCommand } from '../../src/harness/worker-pool.js';
import { HashRing } from '../../src/index.js';
import { reportErrors, runSmall, smallOptions } from './support.js';

/** Every expected (message, user) pair exactly once, every outcome delivered. */
function expectExactlyOnce(f: Figures, report: BenchReport): void {
  expect(f.delivered).toBe(report.workload.expectedDelivered);
  expect(f.checksum).toBe(report.workload.expectedChecksum);
  expect(f.duplicates).toBe(0);
  expect(f.notDelivered).toBe(0);
}

describe('runRoutingBench on the memory transport', () => {
  it('delivers every pair once; broadcast visits every node per message, hash exactly the owner of a one-to-one message', async () => {
    const report = await runSmall({ groupSize: 0 });
    const messages = report.workload.messages;
    expect(report).toMatchObject({ version: 2, complete: true, incomplete: null, correct: true, problems: [] });
    expect(report.workload.expectedDelivered).toBe(messages);
    expect(report.results.map((r) => r.nodes)).toEqual([1, 2, 3, 5]);
    for (const r of report.results) {
      const { broadcast, hash } = r;
      for (const f of [broadcast, hash]) expectExactlyOnce(f, report);
      expect(broadcast.nodeVisitsPerMessage).toBe(r.nodes);
      expect(broadcast.nodeVisits).toBe(r.nodes * messages);
      expect(broadcast.nodeVisitsPerDirectMessage).toBe(r.nodes);
      expect(hash.nodeVisitsPerMessage).toBe(1);
      expect(hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(hash.nodeVisits).toBe(messages);
      // Broadcast wastes every visit but the owner's; hash wastes none.
      expect(broadcast.wastedVisits).toBe((r.nodes - 1) * messages);
      expect(hash.wastedVisits).toBe(0);
      expect(hash.wastedVisitsPerMessage).toBe(0);
      expect(broadcast.nodeVisitsPerGroupMessage).toBeNull();
      expect(r.ratio.nodeVisitsPerMessage).toBe(r.nodes);
      expect(r.ratio.wastedVisitsPerMessage).toBeNull(); // hash's is 0
      expect(r.sessionsPerNode.min).toBeLessThanOrEqual(r.sessionsPerNode.max);
      if (r.nodes === 1) expect(r.sessionsPerNode).toEqual({ min: 300, max: 300 });
      expect(r.baselines).toBeUndefined();
    }
  });

  it('visits, per group message, each distinct owner among the members once in hash mode', async () => {
    const options = smallOptions({ groupSize: 6, groupShare: 0.6 });
    const report = await runSmall(options);
    expect(report.correct).toBe(true);
    const workload = generateWorkload(options);
    const groups = workload.messages.filter((m) => m.kind === 'group');
    const directs = workload.messages.filter((m) => m.kind === 'direct');
    expect(groups.length).toBeGreaterThan(100);
    expect(directs.length).toBeGreaterThan(100);
    expect(report.workload).toMatchObject({ directMessages: directs.length, groupMessages: groups.length, expectedChecksum: workload.expectedChecksum });

    for (const r of report.results) {
      // Computed here, independently of the harness: one ring, one lookup per member.
      const ring = await HashRing.create(nodeIds(r.nodes).map((id) => ({ id })));
      const owners = groups.map((m) => new Set(m.to.map((user) => ring.lookup(user).id)).size);
      const groupVisits = owners.reduce((a, b) => a + b, 0);
      for (const f of [r.broadcast, r.hash]) expectExactlyOnce(f, report);
      expect(r.hash.nodeVisits).toBe(directs.length + groupVisits);
      expect(r.hash.nodeVisitsPerGroupMessage).toBeCloseTo(groupVisits / groups.length, 4);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(r.hash.wastedVisits).toBe(0);
      expect(r.broadcast.nodeVisitsPerMessage).toBe(r.nodes);
      expect(r.broadcast.nodeVisitsPerGroupMessage).toBe(r.nodes);
      expect(r.broadcast.nodeVisits).toBe(r.nodes * options.messages);
      // A broadcast visit is wasted where the node owns none of the recipients.
      expect(r.broadcast.wastedVisits).toBe(r.nodes * options.messages - (directs.length + groupVisits));
    }
  });

  it('counts the bus, the latency and the CPU split of the timed round; no Redis figures', async () => {
    const report = await runSmall({ nodes: [1, 4] });
    for (const r of report.results) {
      for (const f of [r.broadcast, r.hash]) {
        // Every visit is a delivery heard on the bus; outcomes come back on it too.
        expect(f.busMessages).toBeGreaterThan(f.nodeVisits);
        expect(f.busBytes).toBeGreaterThan(f.busMessages);
        expect(f.busBytesPerMessage).toBeCloseTo(f.busBytes / f.messages, 3);
        expect(f.latencyP50Ms).not.toBeNull();
        expect(f.latencyP99Ms).not.toBeNull();
        expect(f.latencyP50Ms!).toBeGreaterThan(0);
        expect(f.latencyP50Ms!).toBeLessThanOrEqual(f.latencyP99Ms!);
        expect(f.latencyP99Ms!).toBeLessThanOrEqual(f.latencyMaxMs!);
        expect(f.cpuMicros).toBeGreaterThan(0);
        expect(f.cpuMicrosPerDelivered).toBeCloseTo(f.cpuMicros / f.delivered, 3);
        const split = f.cpuSplitMicrosPerDelivered;
        expect(split).not.toBeNull();
        const parts = [split!.routing, split!.codec, split!.sender, split!.delivery, split!.transport, split!.clients, split!.rest];
        for (const part of parts) expect(part).toBeGreaterThanOrEqual(0);
        expect(split!.sender + split!.delivery).toBeGreaterThan(0);
        expect(split!.codec).toBeGreaterThan(0); // every delivery and outcome is JSON
        expect(f.server).toBeNull();
        expect(f.cpuBreakdownMicros).toEqual({ sender: null, nodes: null, server: null });
      }
      // One node: both modes carry each message once (the senders' ids differ in length, so bytes are not compared).
      if (r.nodes === 1) expect(r.broadcast.busMessages).toBe(r.hash.busMessages);
      else {
        // Broadcast carries every message to every node; hash only to the owners.
        expect(r.broadcast.busBytes).toBeGreaterThan(r.hash.busBytes);
        expect(r.ratio.busBytesPerMessage!).toBeGreaterThan(1);
      }
    }
  });

  it('is deterministic for a seed and changes with it', async () => {
    const strip = (report: BenchReport) =>
      report.results.map((r) => [r.nodes, r.sessionsPerNode, ...[r.broadcast, r.hash].flatMap((f) => [f.nodeVisits, f.wastedVisits, f.delivered, f.checksum, f.busMessages])]);
    const a = await runSmall({ nodes: [2, 3] });
    const b = await runSmall({ nodes: [2, 3] });
    const c = await runSmall({ nodes: [2, 3], seed: 8 });
    expect(strip(a)).toEqual(strip(b));
    expect(a.workload.expectedChecksum).toBe(b.workload.expectedChecksum);
    expect(c.workload.expectedChecksum).not.toBe(a.workload.expectedChecksum);
  });

  it('reports the median round and keeps every round', async () => {
    const report = await runSmall({ nodes: [2], rounds: 3 });
    const r = report.results[0]!;
    for (const f of [r.broadcast, r.hash]) {
      expect(f.cpuMicrosByRound).toHaveLength(3);
      const sorted = [...f.cpuMicrosByRound].sort((x, y) => x - y);
      expect(f.cpuMicros).toBe(sorted[1]);
      expect(f.cpuMicrosPerDelivered).toBeCloseTo(f.cpuMicros / f.delivered, 3);
    }
  });

  it('says which pairs went wrong when the deliveries do not match what the workload expects', async () => {
    // The right messages, measured against a workload that expects one more pair and another checksum.
    const options = smallOptions({ nodes: [2], messages: 100 });
    const workload = generateWorkload(options);
    const run = await runBench(options, { ...workload, expectedDelivered: workload.expectedDelivered + 1 }, { worker: defaultWorkerCommand() });
    expect(run.correct).toBe(false);
    expect(run.complete).toBe(true);
    expect(run.problems).toEqual([
      `2 nodes, broadcast: delivered ${workload.expectedDelivered} (message, user) pairs, expected ${workload.expectedDelivered + 1}`,
      `2 nodes, hash: delivered ${workload.expectedDelivered} (message, user) pairs, expected ${workload.expectedDelivered + 1}`,
    ]);
    const wrongUsers = await runBench(options, { ...workload, expectedChecksum: '0123456789abcdef' }, { worker: defaultWorkerCommand() });
    expect(wrongUsers.correct).toBe(false);
    expect(wrongUsers.problems).toHaveLength(2);
    for (const problem of wrongUsers.problems) expect(problem).toMatch(/^2 nodes, (broadcast|hash): delivered the right number of pairs but to the wrong users \(checksum [0-9a-f]{16}, expected 0123456789abcdef\)$/);
  });
});

describe('generateWorkload', () => {
  it('sends one-to-one messages to someone else and group messages to distinct members', () => {
    const workload = generateWorkload({ users: 50, messages: 500, groupSize: 5, groupShare: 0.5, payloadBytes: 8, seed: 3 });
    for (const m of workload.messages) {
      expect(m.text).toHaveLength(8);
      if (m.kind === 'direct') {
        expect(m.to).toHaveLength(1);
        expect(m.to[0]).not.toBe(m.from);
      } else {
        expect(new Set(m.to).size).toBe(5);
        expect(m.to).toContain(m.from);
      }
    }
    expect(workload.directMessages + workload.groupMessages).toBe(500);
    expect(workload.expectedDelivered).toBe(workload.directMessages + 5 * workload.groupMessages);
  });
});

describe('the report schema on memory reports', () => {
  it('matches a real report, and catches a broken one', async () => {
    const report = await runSmall({ nodes: [1, 2] });
    expect(reportErrors(report)).toEqual([]);
    const broken = JSON.parse(JSON.stringify(report)) as { version: number; results: Array<{ hash: Record<string, unknown>; ratio: Record<string, unknown> }> };
    delete broken.results[0]!.hash.nodeVisitsPerMessage;
    broken.results[0]!.hash.delivered = -1;
    broken.results[0]!.hash.sessionLookups = 3; // a version 1 figure
    broken.results[0]!.ratio.bytesBetweenNodes = 1;
    broken.version = 1;
    expect(reportErrors(broken)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/version: must be equal to constant/),
        expect.stringMatching(/^\/results\/0\/hash: must have required property 'nodeVisitsPerMessage'/),
        expect.stringMatching(/^\/results\/0\/hash\/delivered: must be >= 0/),
        expect.stringMatching(/^\/results\/0\/hash: must NOT have additional properties \(\{"additionalProperty":"sessionLookups"\}\)/),
        expect.stringMatching(/^\/results\/0\/ratio: must NOT have additional properties \(\{"additionalProperty":"bytesBetweenNodes"\}\)/),
      ]),
    );
  });

  it('holds an incomplete run only with its reason, and a complete one only with results', async () => {
    const report = JSON.parse(JSON.stringify(await runSmall({ nodes: [2] }))) as Record<string, unknown>;
    const incomplete = { ...report, results: [], complete: false, incomplete: '2 nodes: lost the connection to Redis at redis://127.0.0.1:1', correct: false };
    expect(reportErrors(incomplete)).toEqual([]);
    expect(reportErrors({ ...incomplete, incomplete: null })).not.toEqual([]);
    expect(reportErrors({ ...incomplete, correct: true })).not.toEqual([]);
    expect(reportErrors({ ...report, results: [] })).not.toEqual([]);
    expect(reportErrors({ ...report, incomplete: 'why' })).not.toEqual([]);
  });
});
