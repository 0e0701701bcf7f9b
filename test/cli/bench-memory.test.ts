import { describe, expect, it } from 'vitest';
import { nodeIds, runRoutingBench, type BenchReport } from '../../src/cli/bench-routing.js';
import { encodeBody, encodeEnvelope, formatTime } from '../../src/cli/envelope.js';
import type { Cluster, Transport } from '../../src/cli/transport.js';
import { memoryTransport } from '../../src/cli/transport-memory.js';
import { generateWorkload } from '../../src/cli/workload.js';
import { HashRing } from '../../src/index.js';
import { reportErrors, smallOptions } from './support.js';

describe('runRoutingBench on the memory transport', () => {
  it('visits every node per one-to-one message in broadcast and exactly one in hash', async () => {
    const options = smallOptions({ groupSize: 0 });
    const report = await runRoutingBench(options, memoryTransport());
    expect(report.correct).toBe(true);
    for (const r of report.results) {
      const { broadcast, hash } = r;
      expect(broadcast.nodeVisitsPerMessage).toBe(r.nodes);
      expect(broadcast.nodeVisits).toBe(r.nodes * options.messages);
      expect(hash.nodeVisitsPerMessage).toBe(1);
      expect(hash.nodeVisits).toBe(options.messages);
      // Broadcast wastes every visit but the owner's; hash wastes none.
      expect(broadcast.wastedVisits).toBe((r.nodes - 1) * options.messages);
      expect(hash.wastedVisits).toBe(0);
      expect(broadcast.sessionLookups).toBe(r.nodes * options.messages);
      expect(hash.sessionLookups).toBe(options.messages);
      expect(broadcast.ringLookups).toBe(0);
      expect(hash.ringLookups).toBe(options.messages);
      expect(broadcast.delivered).toBe(options.messages);
      expect(hash.delivered).toBe(broadcast.delivered);
      expect(hash.checksum).toBe(broadcast.checksum);
      expect(broadcast.nodeVisitsPerGroupMessage).toBeNull();
      expect(broadcast.latencyP50Ms).toBeNull();
      expect(r.ratio.nodeVisitsPerMessage).toBe(r.nodes);
    }
  });

  it('visits, per group message, each distinct owner among the members once in hash mode', async () => {
    const options = smallOptions({ groupSize: 6, groupShare: 0.6 });
    const report = await runRoutingBench(options, memoryTransport());
    expect(report.correct).toBe(true);
    const workload = generateWorkload(options);
    const groups = workload.messages.filter((m) => m.kind === 'group');
    const directs = workload.messages.filter((m) => m.kind === 'direct');
    expect(groups.length).toBeGreaterThan(100);
    expect(directs.length).toBeGreaterThan(100);
    const recipients = workload.messages.reduce((sum, m) => sum + m.to.length, 0);

    for (const r of report.results) {
      // Computed here, independently of the CLI's routing: one ring, one lookup per member.
      const ring = await HashRing.create(nodeIds(r.nodes).map((id) => ({ id })));
      const owners = groups.map((m) => new Set(m.to.map((user) => ring.lookup(user).id)).size);
      const groupVisits = owners.reduce((a, b) => a + b, 0);

      expect(r.hash.nodeVisits).toBe(directs.length + groupVisits);
      expect(r.hash.nodeVisitsPerGroupMessage).toBeCloseTo(groupVisits / groups.length, 4);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(r.broadcast.nodeVisitsPerGroupMessage).toBe(r.nodes);
      expect(r.broadcast.nodeVisits).toBe(r.nodes * options.messages);
      expect(r.hash.wastedVisits).toBe(0);
      // A broadcast visit is wasted where the node owns none of the recipients.
      const usefulBroadcast = directs.length + groupVisits;
      expect(r.broadcast.wastedVisits).toBe(r.nodes * options.messages - usefulBroadcast);
      expect(r.hash.ringLookups).toBe(recipients);
      expect(r.hash.sessionLookups).toBe(recipients);
      expect(r.broadcast.sessionLookups).toBe(r.nodes * recipients);
      expect(r.broadcast.delivered).toBe(recipients);
      expect(r.hash.delivered).toBe(recipients);
      expect(r.hash.checksum).toBe(r.broadcast.checksum);
      if (r.nodes === 1) expect(r.hash.nodeVisits).toBe(options.messages);
    }
  });

  it('counts the bytes of every envelope a node receives', async () => {
    const options = smallOptions({ nodes: [3], groupSize: 0, messages: 50 });
    const report = await runRoutingBench(options, memoryTransport());
    const workload = generateWorkload(options);
    // The clock stamp has a fixed width, so sizes do not depend on when the run happened.
    const sizes = workload.messages.map((m) => encodeEnvelope(m.id, formatTime(Date.now()), m.to, encodeBody(m.from, m.text)).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const r = report.results[0]!;
    expect(r.hash.bytesBetweenNodes).toBe(total);
    expect(r.broadcast.bytesBetweenNodes).toBe(3 * total);
    expect(r.ratio.bytesBetweenNodes).toBe(3);
  });

  it('splits the CPU into routing, codec, delivery and the rest, which add up to the total', async () => {
    const report = await runRoutingBench(smallOptions({ nodes: [4], messages: 3000 }), memoryTransport());
    const r = report.results[0]!;
    for (const f of [r.broadcast, r.hash]) {
      const s = f.cpuSplitMicros;
      expect(s.routing + s.codec + s.delivery + s.rest).toBe(Math.max(f.cpuMicros, s.routing + s.codec + s.delivery));
      expect(s.codec).toBeGreaterThan(0);
      expect(s.delivery).toBeGreaterThan(0);
    }
    // Hash routing does ring lookups for about 13,000 recipients: measurable. (Not compared with broadcast's,
    // which is only the loop: a garbage collection landing in either step would make that comparison flaky.)
    expect(r.hash.cpuSplitMicros.routing).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and changes with it', async () => {
    const strip = (report: BenchReport) =>
      report.results.map((r) => [r.nodes, r.broadcast.nodeVisits, r.hash.nodeVisits, r.hash.bytesBetweenNodes, r.broadcast.checksum, r.sessionsPerNode]);
    const a = await runRoutingBench(smallOptions(), memoryTransport());
    const b = await runRoutingBench(smallOptions(), memoryTransport());
    const c = await runRoutingBench(smallOptions({ seed: 8 }), memoryTransport());
    expect(strip(a)).toEqual(strip(b));
    expect(a.workload.expectedChecksum).toBe(b.workload.expectedChecksum);
    expect(c.workload.expectedChecksum).not.toBe(a.workload.expectedChecksum);
  });

  it('reports the median round and keeps every round', async () => {
    const report = await runRoutingBench(smallOptions({ nodes: [2], rounds: 3 }), memoryTransport());
    const r = report.results[0]!;
    expect(r.broadcast.cpuMicrosByRound).toHaveLength(3);
    const sorted = [...r.broadcast.cpuMicrosByRound].sort((x, y) => x - y);
    expect(r.broadcast.cpuMicros).toBe(sorted[1]);
    expect(r.broadcast.cpuMicrosPerDelivered).toBeCloseTo(r.broadcast.cpuMicros / r.broadcast.delivered, 3);
  });

  it('produces a report that matches the JSON schema', async () => {
    const report = await runRoutingBench(smallOptions(), memoryTransport());
    expect(reportErrors(report)).toEqual([]);
    // The validator does catch a bad report.
    const broken = JSON.parse(JSON.stringify(report)) as { results: Array<{ hash: Record<string, unknown> }> };
    delete broken.results[0]!.hash.nodeVisitsPerMessage;
    broken.results[0]!.hash.delivered = -1;
    expect(reportErrors(broken)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/results\/0\/hash: must have required property 'nodeVisitsPerMessage'/),
        expect.stringMatching(/^\/results\/0\/hash\/delivered: must be >= 0/),
      ]),
    );
  });

  it('fails the run when a mode loses or misroutes a delivery', async () => {
    // A transport whose hash mode loses one delivery and whose broadcast mode swaps a recipient.
    const memory = memoryTransport();
    const faulty: Transport = {
      name: 'memory',
      async start(ring, sessions) {
        const inner = await memory.start(ring, sessions);
        const cluster: Cluster = {
          async run(mode, messages, progress, warmup) {
            const result = await inner.run(mode, messages, progress, warmup);
            if (mode === 'hash') return { ...result, nodes: { ...result.nodes, delivered: result.nodes.delivered - 1 } };
            return { ...result, nodes: { ...result.nodes, checksum: '0123456789abcdef' } };
          },
          close: () => inner.close(),
        };
        return cluster;
      },
      close: () => memory.close(),
    };
    const report = await runRoutingBench(smallOptions({ nodes: [2] }), faulty);
    expect(report.correct).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2 nodes, hash: delivered \d+ messages, expected \d+$/),
        expect.stringMatching(/^2 nodes, broadcast: delivered the right number of messages but to the wrong users/),
        expect.stringMatching(/^2 nodes: broadcast delivered \d+ \(checksum 0123456789abcdef\) but hash delivered/),
      ]),
    );
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
