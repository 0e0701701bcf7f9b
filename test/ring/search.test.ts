/**
 * The ring's search (points.ts `firstAtOrAfter`: bucket index, branch-free
 * steps, sentinel pairs) against a plain scan for the first point >= h,
 * over point sets a hash would rarely give: clusters of many points in one
 * bucket (the fallback loop), duplicates, 0 and 2^32 - 1, one point.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/index.js';
import { buildIndex, firstAtOrAfter, newPairs } from '../../src/ring/points.js';
import { tableHasher } from './support.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Sorted point hashes: uniform ones, or clusters around a few centres (many points per bucket), with the extremes now and then. */
const pointsArb = fc
  .oneof(
    fc.array(u32, { minLength: 1, maxLength: 300 }),
    fc
      .tuple(fc.array(u32, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(3), fc.integer({ min: -64, max: 64 })), { minLength: 1, maxLength: 200 }))
      .map(([centres, offsets]) => offsets.map(([c, d]) => Math.min(0xffffffff, Math.max(0, centres[c % centres.length]! + d)))),
    fc.array(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff), { minLength: 1, maxLength: 20 }),
  )
  .map((hs) => hs.sort((a, b) => a - b));

function reference(hashes: readonly number[], h: number): number {
  let i = 0;
  while (i < hashes.length && hashes[i]! < h) i++;
  return i;
}

describe('firstAtOrAfter', () => {
  it('finds the first point >= h, or the sentinel past the last one, for probes at, around and between points', () => {
    fc.assert(
      fc.property(pointsArb, fc.array(u32, { maxLength: 50 }), (hashes, extra) => {
        const n = hashes.length;
        const pairs = newPairs(n);
        hashes.forEach((h, i) => {
          pairs[2 * i] = h;
          pairs[2 * i + 1] = i;
        });
        const { index, shift, length } = buildIndex(pairs, n);
        expect(length).toBe(n);
        const probes = [0, 0xffffffff, ...extra, ...hashes.flatMap((h) => [h, Math.max(0, h - 1), Math.min(0xffffffff, h + 1)])];
        for (const h of probes) {
          const at = firstAtOrAfter(pairs, index, shift, h);
          const want = reference(hashes, h);
          expect(at >> 1).toBe(want);
          // The owner slot beside it; the sentinel's is point 0's (the wrap).
          expect(pairs[at + 1]).toBe(want === n ? 0 : want);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a ring whose points all sit in one bucket still finds every owner', () => {
    // Hashes chosen so that all points share their top bits: the search runs its fallback loop.
    const table: Record<string, number> = {};
    const nodes = ['a', 'b', 'c'];
    for (const id of nodes) for (let r = 0; r < 8; r++) table[`${r}:${id}`] = 0x10000000 + nodes.indexOf(id) * 100 + r * 10;
    table['k-low'] = 5;
    table['k-mid'] = 0x10000000 + 105;
    table['k-high'] = 0xffffffff;
    const ring = new HashRing({ hasher: tableHasher(table), vnodes: 8 }, nodes.map((id) => ({ id })));
    expect(ring.lookup('k-low').id).toBe('a');
    expect(ring.lookup('k-mid').id).toBe('b');
    expect(ring.lookup('k-high').id).toBe('a');
    expect(ring.lookupMany(['k-low', 'k-mid', 'k-high']).map((n) => n.id)).toEqual(['a', 'b', 'a']);
    expect(ring.lookupN('k-mid', 3).map((n) => n.id)).toEqual(['b', 'c', 'a']);
  });
});
