import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, groupByOwner } from '../../src/index.js';

describe('groupByOwner', () => {
  it('puts every distinct key under its owner exactly once', async () => {
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 60 }), (keys) => {
        const groups = groupByOwner(ring, keys);
        const flat = [...groups.values()].flat();
        expect(flat.sort()).toEqual([...new Set(keys)].sort());
        for (const [id, owned] of groups) {
          expect(owned.length).toBeGreaterThan(0);
          for (const key of owned) expect(ring.lookup(key).id).toBe(id);
        }
        // Distinct owners: the number of node visits hash routing pays for a group message.
        expect(groups.size).toBe(new Set(keys.map((k) => ring.lookup(k).id)).size);
      }),
    );
  });

  it('drops repeats in long key lists too, and works with an owner lookup that has no lookupMany', async () => {
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
    const plain = { lookup: (key: string) => ring.lookup(key) };
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3 }), { minLength: 65, maxLength: 400 }), (keys) => {
        const expected = [...new Set(keys)];
        for (const groups of [groupByOwner(ring, keys), groupByOwner(plain, keys), groupByOwner(ring, new Set(keys))]) {
          // First-seen order within each owner, each key once.
          for (const [id, owned] of groups) expect(owned).toEqual(expected.filter((k) => ring.lookup(k).id === id));
          expect([...groups.values()].flat()).toHaveLength(expected.length);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('throws EMPTY_RING on an empty ring with keys, and returns nothing for no keys', async () => {
    const ring = await HashRing.create();
    expect(groupByOwner(ring, []).size).toBe(0);
    expect(() => groupByOwner(ring, ['x'])).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
  });
});
