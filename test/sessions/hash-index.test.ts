import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/ring/hash-ring.js';
import { createXxHash32 } from '../../src/ring/hasher.js';
import { HashIndex } from '../../src/sessions/hash-index.js';

const hasher = await createXxHash32();

interface Entry {
  readonly key: string;
  readonly hash: number;
}

const entry = (key: string): Entry => ({ key, hash: hasher.hash(key) });

describe('HashIndex.inRanges', () => {
  it('finds exactly the keys that diff.owner() says moved, for random rings and changes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 0, maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 0, maxLength: 8 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (before, after, keys, vnodes) => {
          const ring = new HashRing({ hasher, vnodes }, before.map((n) => ({ id: `n${n}` })));
          const diff = ring.setNodes(after.map((n) => ({ id: `n${n}` })));
          const index = new HashIndex<Entry>();
          for (const key of keys) index.add(entry(key));
          const found = index.inRanges(diff.ranges).map((e) => e.key).sort();
          const expected = keys.filter((k) => diff.owner(k) !== undefined).sort();
          expect(found).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('treats a range with start === end as the whole ring and handles the arc that wraps past 2^32 - 1', () => {
    const index = new HashIndex<Entry>();
    const entries = [0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff].map((hash) => ({ key: String(hash), hash }));
    for (const e of entries) index.add(e);
    expect(index.inRanges([{ start: 5, end: 5, from: 'a', to: 'b' }]).length).toBe(5);
    expect(index.inRanges([{ start: 0xfffffffe, end: 0, from: 'a', to: 'b' }]).map((e) => e.hash).sort()).toEqual([0, 0xffffffff]);
    expect(index.inRanges([{ start: 0xffffffff, end: 1, from: 'a', to: 'b' }]).map((e) => e.hash).sort()).toEqual([0, 1]);
    expect(index.inRanges([{ start: 0, end: 0x7fffffff, from: 'a', to: 'b' }]).map((e) => e.hash).sort()).toEqual([1, 0x7fffffff]);
  });
});

describe('HashIndex.remove', () => {
  it('removes by identity and keeps the others findable', () => {
    const index = new HashIndex<Entry>();
    const a = { key: 'a', hash: 42 };
    const b = { key: 'b', hash: 42 };
    const c = { key: 'c', hash: 43 };
    index.add(a);
    index.add(b);
    index.add(c);
    expect(index.remove(a)).toBe(true);
    expect(index.remove(a)).toBe(false);
    expect(index.size).toBe(2);
    expect(index.all().map((e) => e.key).sort()).toEqual(['b', 'c']);
  });
});

describe('HashIndex.inRanges with 64-bit table placements', () => {
  it('takes, at a coordinate that ranges with `low` split, only the keys the diff says moved, once', () => {
    // A 64-bit table placement whose keys "<hi>:<lo>" hash to exactly hi * 2^32 + lo, with positions in a few coordinates.
    const parts = (k: string): number[] => k.split(':').map(Number);
    const placement = {
      kind: 'table' as const,
      name: 'split64',
      hasher: { name: 'split64', hash: (k: string) => parts(k)[0]!, low: (k: string) => parts(k)[1]! },
      table: (nodes: readonly { id: string }[]) => {
        const all = nodes.flatMap((n, owner) => [5, 9].map((c, i) => ({ c, lo: (n.id.charCodeAt(0) * 7919 + i * 104729) % 1000, owner })));
        all.sort((a, b) => a.c - b.c || a.lo - b.lo);
        return { positions: Uint32Array.from(all, (p) => p.c), lows: Uint32Array.from(all, (p) => p.lo), owners: Uint32Array.from(all, (p) => p.owner) };
      },
    };
    const ring = new HashRing({ placement }, [{ id: 'a' }, { id: 'b' }]);
    const diff = ring.add({ id: 'c' });
    expect(diff.ranges.some((r) => r.low !== undefined)).toBe(true);
    const keys = [4, 5, 6, 9, 10].flatMap((c) => [0, 100, 300, 500, 700, 999, 5000].map((lo) => `${c}:${lo}`));
    const index = new HashIndex<Entry>();
    for (const key of keys) index.add({ key, hash: placement.hasher.hash(key) });
    const found = index.inRanges(diff.ranges, [], (e) => diff.owner(e.key) !== undefined).map((e) => e.key).sort();
    expect(found).toEqual(keys.filter((k) => diff.owner(k) !== undefined).sort());
    expect(found.length).toBeGreaterThan(0);
    // Without the predicate, every key at a split coordinate is taken (a superset), still once each.
    const all = index.inRanges(diff.ranges).map((e) => e.key);
    expect(new Set(all).size).toBe(all.length);
    expect(found.every((k) => all.includes(k))).toBe(true);
  });
});
