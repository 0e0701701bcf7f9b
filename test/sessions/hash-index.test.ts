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
