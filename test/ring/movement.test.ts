import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { build, bruteMoves, clusterArb, idArb, keysFor, makeNode, nodeArb, owners, weightArb } from './support.js';
import type { RingNode } from '../../src/index.js';

describe('HashRing.add', () => {
  it('moves keys only to the new node, and every key the new node owns moved', () => {
    fc.assert(
      fc.property(
        clusterArb(0, 8),
        nodeArb,
        (c, node) => {
          fc.pre(!c.nodes.some((n) => n.id === node.id));
          const ring = build(c);
          const before = ring.clone();
          const diff = ring.add(node);
          const keys = keysFor(before, ring);
          const moves = bruteMoves(before, ring, keys);
          for (const m of moves) expect(m.to).toBe(node.id);
          const ownedByNew = keys.filter((k) => ring.lookup(k).id === node.id);
          expect(moves.map((m) => m.key)).toEqual(ownedByNew);
          expect(diff.added).toEqual([node.id]);
          expect(diff.removed).toEqual([]);
          for (const r of diff.ranges) expect(r.to).toBe(node.id);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('HashRing.remove', () => {
  it('moves only the removed node keys, and no key between two surviving nodes', () => {
    fc.assert(
      fc.property(
        clusterArb(1, 8).chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: 0, max: c.nodes.length - 1 }))),
        ([c, victim]) => {
          const id = c.nodes[victim]!.id;
          const ring = build(c);
          const before = ring.clone();
          const diff = ring.remove(id);
          const keys = keysFor(before, ring);
          const moves = bruteMoves(before, ring, keys);
          const ownedByRemoved = keys.filter((k) => before.lookup(k).id === id);
          expect(moves.map((m) => m.key)).toEqual(ownedByRemoved);
          for (const m of moves) expect(m.from).toBe(id);
          expect(diff.removed).toEqual([id]);
          for (const r of diff.ranges) expect(r.from).toBe(id);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('HashRing weights', () => {
  it('moves keys only to or from the reweighted node: to it when heavier, from it when lighter', () => {
    fc.assert(
      fc.property(
        clusterArb(1, 8).chain((c) =>
          fc.tuple(fc.constant(c), fc.integer({ min: 0, max: c.nodes.length - 1 }), weightArb),
        ),
        ([c, which, weight]) => {
          const target = c.nodes[which]!;
          const ring = build(c);
          const before = ring.clone();
          const next = c.nodes.map((n) => (n === target ? makeNode(n.id, weight, n.meta === undefined ? undefined : { ...n.meta }) : n));
          const diff = ring.setNodes(next);
          const keys = keysFor(before, ring);
          const moves = bruteMoves(before, ring, keys);
          const oldPoints = Math.max(1, Math.round(c.vnodes * (target.weight ?? 1)));
          const newPoints = Math.max(1, Math.round(c.vnodes * (weight ?? 1)));
          for (const m of moves) {
            if (newPoints > oldPoints) expect(m.to).toBe(target.id);
            else expect(m.from).toBe(target.id);
          }
          if (newPoints === oldPoints) expect(diff.ranges).toEqual([]);
          expect(diff.reweighted).toEqual((target.weight ?? 1) === (weight ?? 1) ? [] : [target.id]);
          expect(ring.points - before.points).toBe(newPoints - oldPoints);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives each node round(vnodes x weight) points, never a share of the total', () => {
    fc.assert(
      fc.property(clusterArb(1, 8), nodeArb, (c, extra) => {
        fc.pre(!c.nodes.some((n) => n.id === extra.id));
        const ring = build(c);
        const expected = c.nodes.reduce((sum, n) => sum + Math.max(1, Math.round(c.vnodes * (n.weight ?? 1))), 0);
        expect(ring.points).toBe(expected);
        // Another node joining with any weight leaves every other node's points where they were:
        // each old node still owns its points' exact hashes unless the newcomer ties and wins them.
        const keys = keysFor(ring);
        const before = owners(ring, keys);
        ring.add(extra);
        const after = owners(ring, keys);
        for (let k = 0; k < keys.length; k++) if (after[k] !== extra.id) expect(after[k]).toBe(before[k]);
      }),
      { numRuns: 100 },
    );
  });
});

describe('HashRing.setNodes', () => {
  it('moves keys only from leaving or reweighted nodes, or to joining or reweighted nodes', () => {
    const changeArb = clusterArb(0, 8).chain((c) =>
      fc.tuple(
        fc.constant(c),
        // For each current node: keep, drop, reweight, or change meta only.
        fc.array(fc.tuple(fc.constantFrom('keep', 'drop', 'reweight', 'meta'), weightArb), { minLength: c.nodes.length, maxLength: c.nodes.length }),
        fc.uniqueArray(nodeArb, { selector: (n) => n.id, maxLength: 4 }),
      ),
    );
    fc.assert(
      fc.property(changeArb, ([c, fates, newcomers]) => {
        const joining = newcomers.filter((n) => !c.nodes.some((m) => m.id === n.id));
        const next: RingNode[] = [];
        c.nodes.forEach((n, i) => {
          const [fate, weight] = fates[i]!;
          if (fate === 'keep') next.push(n);
          else if (fate === 'reweight') next.push(makeNode(n.id, weight, n.meta === undefined ? undefined : { ...n.meta }));
          else if (fate === 'meta') next.push(makeNode(n.id, n.weight, { url: `changed-${i}` }));
        });
        next.push(...joining);
        const ring = build(c);
        const before = ring.clone();
        const diff = ring.setNodes(next);

        const weightOf = (n: RingNode | undefined): number | undefined => (n === undefined ? undefined : (n.weight ?? 1));
        const beforeIds = new Set(c.nodes.map((n) => n.id));
        const afterIds = new Set(next.map((n) => n.id));
        const expectedAdded = [...afterIds].filter((id) => !beforeIds.has(id)).sort();
        const expectedRemoved = [...beforeIds].filter((id) => !afterIds.has(id)).sort();
        const expectedReweighted = next.filter((n) => beforeIds.has(n.id) && weightOf(before.get(n.id)) !== weightOf(n)).map((n) => n.id).sort();
        expect(diff.added).toEqual(expectedAdded);
        expect(diff.removed).toEqual(expectedRemoved);
        expect(diff.reweighted).toEqual(expectedReweighted);

        const changed = new Set([...expectedAdded, ...expectedRemoved, ...expectedReweighted]);
        for (const m of bruteMoves(before, ring, keysFor(before, ring))) {
          expect(changed.has(m.from ?? '') || changed.has(m.to ?? '')).toBe(true);
          if (m.from !== null && expectedRemoved.includes(m.from)) continue;
          // A surviving owner only loses a key to a joining or heavier node, or because it got lighter.
          expect(expectedAdded.includes(m.to ?? '') || expectedReweighted.includes(m.to ?? '') || expectedReweighted.includes(m.from ?? '')).toBe(true);
        }
        // Every key of a leaving node moved.
        for (const key of keysFor(before)) {
          if (before.size > 0 && expectedRemoved.includes(before.lookup(key).id)) expect(diff.owner(key)).toBeDefined();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('moves nothing when only meta changes, and reports the node as updated', () => {
    fc.assert(
      fc.property(clusterArb(1, 8), idArb, (c, url) => {
        const ring = build(c);
        const before = ring.clone();
        const next = c.nodes.map((n) => makeNode(n.id, n.weight, { url }));
        const diff = ring.setNodes(next);
        expect(diff.ranges).toEqual([]);
        expect(diff.movedFraction).toBe(0);
        expect(diff.added).toEqual([]);
        expect(diff.removed).toEqual([]);
        expect(diff.reweighted).toEqual([]);
        const changedMeta = c.nodes.filter((n) => JSON.stringify(n.meta) !== JSON.stringify({ url })).map((n) => n.id).sort();
        expect(diff.updated).toEqual(changedMeta);
        for (const n of c.nodes) expect(ring.get(n.id)?.meta).toEqual({ url });
        const keys = keysFor(ring);
        expect(owners(ring, keys)).toEqual(owners(before, keys));
      }),
      { numRuns: 100 },
    );
  });
});
