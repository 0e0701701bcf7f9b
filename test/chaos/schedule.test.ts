import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS, FAULT_KINDS, type Fault, planSchedule } from '../../examples/chaos/schedule.js';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
const GATEWAYS = ['gw-1', 'gw-2', 'gw-3', 'gw-4'];
const plan = (seed: number, minutes = 1) => planSchedule({ seed, durationMs: minutes * 60_000, nodes: NODES, gateways: GATEWAYS });

/** The parts a fault holds, and until when (its duration plus its kind's recovery allowance). */
function holds(f: Fault): { parts: string[]; from: number; to: number } {
  const parts = [f.target, ...(f.peer !== undefined && f.peer !== 'store' ? [f.peer] : [])];
  return { parts, from: f.at, to: f.at + f.durationMs + DEFAULT_TIMINGS[f.kind].recoverMs };
}

describe('planSchedule', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    expect(plan(42)).toEqual(plan(42));
    expect(plan(42)).not.toEqual(plan(43));
  });

  it('schedules every kind about perMinute times a minute, inside the run', () => {
    const faults = plan(7, 10);
    for (const kind of FAULT_KINDS) expect(faults.filter((f) => f.kind === kind).length, kind).toBeGreaterThanOrEqual(100);
    for (const f of faults) expect(f.at).toBeLessThan(10 * 60_000);
    expect(faults.map((f) => f.seq)).toEqual(faults.map((_, i) => i));
  });

  it('never puts two faults on one part at once, and keeps half the nodes and gateways out of faults', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const spans = plan(seed).map(holds);
        for (const [i, a] of spans.entries()) {
          for (const b of spans.slice(i + 1)) {
            if (a.parts.some((p) => b.parts.includes(p))) expect(b.from >= a.to || a.from >= b.to).toBe(true);
          }
        }
        for (const { from } of spans) {
          const busy = new Set(spans.filter((s) => s.from <= from && from < s.to).flatMap((s) => s.parts));
          expect(NODES.filter((n) => busy.has(n)).length).toBeLessThanOrEqual(NODES.length / 2);
          expect(GATEWAYS.filter((g) => busy.has(g)).length).toBeLessThanOrEqual(GATEWAYS.length / 2);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('gives partitions a peer of the right kind and pauses durations in their range', () => {
    for (const f of plan(5, 3)) {
      const t = DEFAULT_TIMINGS[f.kind];
      expect(f.durationMs).toBeGreaterThanOrEqual(t.minMs);
      expect(f.durationMs).toBeLessThanOrEqual(t.maxMs);
      if (f.kind !== 'partition') continue;
      if (f.link === 'node-store' || f.link === 'gateway-store') expect(f.peer).toBe('store');
      if (f.link === 'gateway-node') expect(GATEWAYS).toContain(f.peer);
      if (f.link === 'node-node') expect(NODES.filter((n) => n !== f.target)).toContain(f.peer);
      expect(f.link === 'gateway-store' ? GATEWAYS : NODES).toContain(f.target);
    }
  });
});
