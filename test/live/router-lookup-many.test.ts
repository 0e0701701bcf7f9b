import { describe, expect, it } from 'vitest';
import { MemoryRingStore, RingRouter, groupByOwner } from '../../src/index.js';

describe('RingRouter.lookupMany', () => {
  it('gives the same owners as lookup, and serves groupByOwner', async () => {
    const store = new MemoryRingStore();
    await store.compareAndSet(0, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const router = await RingRouter.start({ store });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `member:${i % 250}`);
      expect(router.lookupMany(keys).map((n) => n.id)).toEqual(keys.map((k) => router.lookup(k).id));
      const groups = groupByOwner(router, keys);
      expect([...groups.values()].flat().sort()).toEqual([...new Set(keys)].sort());
      for (const [id, owned] of groups) for (const key of owned) expect(router.lookup(key).id).toBe(id);
    } finally {
      await router.close();
    }
  });
});
