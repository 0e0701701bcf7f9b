/**
 * RingRouter with table placements (Envoy's ring_hash and maglev, ringroute's
 * Maglev): it builds its ring from the store with the placement given, and
 * each change's diff names exactly the keys whose owner changed, including
 * those moved between nodes that stay.
 */
import { describe, expect, it } from 'vitest';
import { HashRing, MemoryRingStore, RingRouter, createXxHash32, maglevPlacement, type Placement, type RingDiff, type RingNode } from '../../src/index.js';
import { envoyMaglevPlacement, envoyRingHashPlacement } from '../../src/proxy/envoy/index.js';

const KEYS = Array.from({ length: 5_000 }, (_, i) => `user:${i}`);
const hasher = await createXxHash32();
const PLACEMENTS: Array<[string, Placement]> = [
  ['envoy ring_hash', envoyRingHashPlacement()],
  ['envoy maglev', envoyMaglevPlacement()],
  ['ringroute maglev', maglevPlacement({ hasher })],
];

const members = (...ids: string[]): RingNode[] => ids.map((id) => ({ id }));

describe.each(PLACEMENTS)('RingRouter.start({ store, placement: %s })', (_, placement) => {
  it('follows the store, and every change names exactly the moved keys', async () => {
    const store = new MemoryRingStore();
    await store.compareAndSet(0, members('a', 'b', 'c'));
    const router = await RingRouter.start({ store, placement });
    try {
      expect(router.ring.placement).toBe(placement);
      let between = 0;
      for (const next of [members('a', 'b', 'c', 'd'), [...members('a', 'c', 'd'), { id: 'e', weight: 2 }], members('e')]) {
        const before = router.ring.lookupMany(KEYS).map((n) => n.id);
        const changed = new Promise<RingDiff>((resolve) => router.once('change', (diff) => resolve(diff)));
        const state = await store.read();
        await store.compareAndSet(state!.version, next, state!.epoch);
        const diff = await changed;
        const after = router.ring.lookupMany(KEYS).map((n) => n.id);
        expect(after).toEqual(new HashRing({ placement }, next).lookupMany(KEYS).map((n) => n.id));
        const moved = diff.movedKeys(KEYS);
        expect(moved).toEqual(KEYS.flatMap((key, i) => (before[i] === after[i] ? [] : [{ key, from: before[i], to: after[i] }])));
        between += moved.filter((m) => next.some((n) => n.id === m.from) && next.some((n) => n.id === m.to) && m.to !== 'd' && m.to !== 'e').length;
      }
      // Table placements do move keys between nodes that stay; the diffs above named them.
      expect(between).toBeGreaterThan(0);
    } finally {
      await router.close();
    }
  });
});
