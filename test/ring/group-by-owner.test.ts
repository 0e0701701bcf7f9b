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

  it('throws EMPTY_RING on an empty ring with keys, and returns nothing for no keys', async () => {
    const ring = await HashRing.create();
    expect(groupByOwner(ring, []).size).toBe(0);
    expect(() => groupByOwner(ring, ['x'])).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
  });
});
