import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, diffRings } from '../../src/index.js';
import type { HashRing as Ring, RingDiff } from '../../src/index.js';
import {
  SPACE,
  build,
  bruteMoves,
  clusterArb,
  keysFor,
  makeNode,
  nodeArb,
  nodesArb,
  pointsOf,
  probeCoarse,
  probeXxh,
  rangeProblem,
  referenceMovedMeasure,
  vnodesArb,
  weightArb,
  xxh32,
} from './support.js';

/** Checks a diff against brute force on every key and probe, and its ranges against the model. */
function expectExact(diff: RingDiff, before: Ring, after: Ring): void {
  const keys = keysFor(before, after);
  const expected = bruteMoves(before, after, keys);
  expect(diff.movedKeys(keys)).toEqual(expected);
  const moved = new Map(expected.map((m) => [m.key, m]));
  for (const key of keys) {
    const m = moved.get(key);
    expect(diff.owner(key)).toEqual(m === undefined ? undefined : { from: m.from, to: m.to });
  }
  expect(rangeProblem(diff, before.size === 0, after.size === 0)).toBeUndefined();
  expect(diff.movedFraction * SPACE).toBe(referenceMovedMeasure(pointsOf(before), pointsOf(after)));
}

/** Two unrelated rings on the same hasher, either possibly empty, with different vnodes. */
const pairArb = fc.record({
  hasher: fc.constantFrom(probeXxh, probeCoarse),
  a: fc.record({ nodes: nodesArb(0, 6), vnodes: vnodesArb }),
  b: fc.record({ nodes: nodesArb(0, 6), vnodes: vnodesArb }),
  overlap: fc.boolean(),
});

describe('diffRings', () => {
  it('names exactly the keys whose owner differs, for any two rings (empty ones included)', () => {
    fc.assert(
      fc.property(pairArb, ({ hasher, a, b, overlap }) => {
        const before = new HashRing({ vnodes: a.vnodes, hasher }, a.nodes);
        // With overlap, the after ring keeps some of the same ids (with their own weights).
        const bNodes = overlap ? [...b.nodes.filter((n) => !a.nodes.some((m) => m.id === n.id)), ...a.nodes.slice(0, 3)] : b.nodes;
        const after = new HashRing({ vnodes: overlap ? a.vnodes : b.vnodes, hasher }, bNodes);
        expectExact(diffRings(before, after), before, after);
        expectExact(diffRings(after, before), after, before);
      }),
      { numRuns: 250 },
    );
  });

  it('reports nothing between a ring and itself or its clone', () => {
    fc.assert(
      fc.property(clusterArb(0, 8), (c) => {
        const ring = build(c);
        for (const diff of [diffRings(ring, ring), diffRings(ring, ring.clone())]) {
          expect(diff.ranges).toEqual([]);
          expect(diff.movedFraction).toBe(0);
          expect(diff.movedKeys(keysFor(ring))).toEqual([]);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('lists added, removed, reweighted and updated ids, sorted', () => {
    const before = new HashRing({ hasher: xxh32, vnodes: 8 }, [{ id: 'd' }, { id: 'a' }, { id: 'b', weight: 2 }, { id: 'c', meta: { url: 'x' } }]);
    const after = new HashRing({ hasher: xxh32, vnodes: 8 }, [{ id: 'f' }, { id: 'e' }, { id: 'b', weight: 1 }, { id: 'c', meta: { url: 'y' } }, { id: 'a', weight: 1 }]);
    const diff = diffRings(before, after);
    expect(diff.added).toEqual(['e', 'f']);
    expect(diff.removed).toEqual(['d']);
    expect(diff.reweighted).toEqual(['b']);
    expect(diff.updated).toEqual(['c']);
  });

  it('reports the whole ring moving to null when the last node leaves, and from null when the first joins', () => {
    const ring = new HashRing({ hasher: xxh32, vnodes: 4 });
    const joined = ring.add({ id: 'only' });
    expect(joined.movedFraction).toBe(1);
    expect(joined.ranges).toHaveLength(1);
    expect(joined.ranges[0]).toMatchObject({ from: null, to: 'only' });
    expect(joined.ranges[0]!.start).toBe(joined.ranges[0]!.end);
    expect(joined.movedKeys(['k1', 'k2'])).toEqual([
      { key: 'k1', from: null, to: 'only' },
      { key: 'k2', from: null, to: 'only' },
    ]);
    const left = ring.remove('only');
    expect(left.movedFraction).toBe(1);
    expect(left.ranges).toHaveLength(1);
    expect(left.ranges[0]).toMatchObject({ from: 'only', to: null });
    expect(left.owner('k1')).toEqual({ from: 'only', to: null });
  });

  it('has a movedFraction close to the share of random keys that move', () => {
    // Ordinary xxHash32 keys are uniform over the hash space, so the share of
    // 20,000 keys that move estimates the moved measure within a few 0.1%.
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}:${(i * 40503) % 9973}`);
    fc.assert(
      fc.property(nodesArb(1, 8), nodesArb(1, 8), fc.integer({ min: 1, max: 40 }), (a, b, vnodes) => {
        const before = new HashRing({ hasher: xxh32, vnodes }, a);
        const after = new HashRing({ hasher: xxh32, vnodes }, b);
        const diff = diffRings(before, after);
        const share = diff.movedKeys(keys).length / keys.length;
        expect(Math.abs(share - diff.movedFraction)).toBeLessThan(0.02);
      }),
      { numRuns: 30 },
    );
  });

  it('rejects rings with different hashers', async () => {
    const a = await HashRing.create([{ id: 'a' }]);
    const b = new HashRing({ hasher: probeXxh }, [{ id: 'a' }]);
    expect(() => diffRings(a, b)).toThrow(expect.objectContaining({ code: 'HASHER_MISMATCH' }));
  });
});

describe('RingDiff returned by changes', () => {
  it('is exact and equals diffRings of the ring before and after, for add, remove and setNodes', () => {
    const opArb = fc.oneof(
      nodeArb.map((node) => ({ kind: 'add' as const, node })),
      fc.nat().map((i) => ({ kind: 'remove' as const, i })),
      fc
        .tuple(fc.array(fc.tuple(fc.boolean(), weightArb)), fc.uniqueArray(nodeArb, { selector: (n) => n.id, maxLength: 3 }))
        .map(([fates, joining]) => ({ kind: 'set' as const, fates, joining })),
    );
    fc.assert(
      fc.property(clusterArb(0, 6), fc.array(opArb, { minLength: 1, maxLength: 6 }), (c, ops) => {
        const ring = build(c);
        for (const op of ops) {
          const before = ring.clone();
          const current = ring.nodes();
          let diff: RingDiff;
          if (op.kind === 'add') {
            if (ring.has(op.node.id)) continue;
            diff = ring.add(op.node);
          } else if (op.kind === 'remove') {
            if (current.length === 0) continue;
            diff = ring.remove(current[op.i % current.length]!.id);
          } else {
            const next = current
              .map((n, i) => ({ n, fate: op.fates[i] }))
              .filter(({ fate }) => fate === undefined || fate[0])
              .map(({ n, fate }) => (fate === undefined ? n : makeNode(n.id, fate[1])));
            next.push(...op.joining.filter((j) => !ring.has(j.id)));
            diff = ring.setNodes(next);
          }
          expectExact(diff, before, ring);
          const reference = diffRings(before, ring);
          expect(diff.ranges).toEqual(reference.ranges);
          expect(diff.added).toEqual(reference.added);
          expect(diff.removed).toEqual(reference.removed);
          expect(diff.reweighted).toEqual(reference.reweighted);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps answering after the ring changes again (it holds no reference to the ring)', () => {
    const ring = new HashRing({ hasher: xxh32, vnodes: 16 }, [{ id: 'a' }, { id: 'b' }]);
    const before = ring.clone();
    const diff = ring.add({ id: 'c' });
    const after = ring.clone();
    ring.setNodes([{ id: 'x' }, { id: 'y' }]);
    const keys = Array.from({ length: 500 }, (_, i) => `u${i}`);
    expect(diff.movedKeys(keys)).toEqual(bruteMoves(before, after, keys));
    expect(Object.isFrozen(diff.ranges)).toBe(true);
  });
});

describe('HashRing.lookupN', () => {
  it('returns min(n, size) distinct nodes, the owner first, in clockwise order', () => {
    fc.assert(
      fc.property(clusterArb(1, 8), fc.integer({ min: 1, max: 10 }), (c, n) => {
        const ring = build(c);
        const points = pointsOf(ring);
        for (const key of keysFor(ring).filter((_, i) => i % 3 === 0)) {
          const walk = ring.lookupN(key, n);
          expect(walk).toHaveLength(Math.min(n, ring.size));
          expect(new Set(walk.map((x) => x.id)).size).toBe(walk.length);
          expect(walk[0]).toBe(ring.lookup(key));
          expect(walk.map((x) => x.id)).toEqual(referenceWalkOf(points, c.hasher.hash(key), n));
          for (const node of walk) expect(node).toBe(ring.get(node.id));
        }
      }),
      { numRuns: 100 },
    );
  });
});

function referenceWalkOf(points: ReturnType<typeof pointsOf>, h: number, n: number): string[] {
  // A plain clockwise walk from the first point at or after h.
  let start = points.findIndex((p) => p.hash >= h);
  if (start < 0) start = 0;
  const out: string[] = [];
  for (let k = 0; k < points.length && out.length < n; k++) {
    const id = points[(start + k) % points.length]!.id;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}
