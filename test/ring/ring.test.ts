import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VNODES, HashRing, createXxHash32 } from '../../src/index.js';
import type { RingNode } from '../../src/index.js';
import { build, clusterArb, fingerprint, keysFor, makeNode, nodeArb, owners, weightArb, xxh32 } from './support.js';

describe('HashRing.create', () => {
  it('uses xxHash32 and 160 vnodes by default', async () => {
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b', weight: 2 }]);
    expect(ring.hasher.name).toBe('xxh32');
    expect(ring.vnodes).toBe(DEFAULT_VNODES);
    expect(ring.size).toBe(2);
    expect(ring.points).toBe(3 * DEFAULT_VNODES);
    expect((await HashRing.create()).size).toBe(0);
  });

  // The bucket index never has fewer than 2 buckets (12 bytes with its end
  // slot), so a ring of 1 or 2 points pays that floor; from 3 points on the
  // whole ring fits in 12 bytes per point, plus the 16 bytes of the two
  // sentinel pairs after the points (which let a lookup search without a
  // bound check).
  it('keeps at most 12 bytes per point, past the bucket index floor and the sentinels', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 400 }), (nodes, vnodes) => {
        const ring = new HashRing({ hasher: xxh32, vnodes }, Array.from({ length: nodes }, (_, i) => ({ id: `n${i}` })));
        expect(ring.byteLength).toBeLessThanOrEqual(Math.max(12 * ring.points, 36) + 16);
      }),
      { numRuns: 30 },
    );
  });
});

describe('HashRing members', () => {
  it('answers size, has, get and nodes() from the members, sorted by id', () => {
    fc.assert(
      fc.property(clusterArb(0, 8), (c) => {
        const ring = build(c);
        expect(ring.size).toBe(c.nodes.length);
        const sorted = [...c.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        expect(ring.nodes()).toEqual(sorted);
        for (const n of c.nodes) {
          expect(ring.has(n.id)).toBe(true);
          expect(ring.get(n.id)).toEqual(n);
          expect(Object.isFrozen(ring.get(n.id))).toBe(true);
        }
        expect(ring.has('\u0000not-a-member')).toBe(false);
        expect(ring.get('\u0000not-a-member')).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('copies nodes in and out: changing the input or the returned array never changes the ring', () => {
    const meta = { url: 'ws://a' };
    const input = { id: 'a', weight: 1, meta };
    const ring = new HashRing({ hasher: xxh32 }, [input]);
    input.weight = 50;
    meta.url = 'ws://evil';
    const list = ring.nodes();
    list.push({ id: 'x' });
    expect(ring.nodes()).toEqual([{ id: 'a', weight: 1, meta: { url: 'ws://a' } }]);
    expect(ring.points).toBe(DEFAULT_VNODES);
  });

  it('returns from lookup the same node object as get()', () => {
    const ring = new HashRing({ hasher: xxh32, vnodes: 8 }, [{ id: 'a', meta: { url: 'u' } }, { id: 'b' }]);
    for (const key of ['1', '2', '3', '4']) {
      const node = ring.lookup(key);
      expect(node).toBe(ring.get(node.id));
    }
  });
});

describe('HashRing.clone', () => {
  const opArb = fc.oneof(
    nodeArb.map((node) => (r: HashRing) => void (r.has(node.id) || r.add(node))),
    fc.nat().map((i) => (r: HashRing) => {
      const ids = r.nodes().map((n) => n.id);
      if (ids.length > 0) r.remove(ids[i % ids.length]!);
    }),
    fc.tuple(fc.nat(), weightArb).map(([i, w]) => (r: HashRing) => {
      const nodes = r.nodes();
      if (nodes.length > 0) r.setNodes(nodes.map((n, k) => (k === i % nodes.length ? makeNode(n.id, w, { changed: 'yes' }) : n)));
    }),
  );

  it('is independent: changing the clone never changes the original, and the other way round', () => {
    fc.assert(
      fc.property(clusterArb(0, 6), fc.array(opArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (c, ops, mutateOriginal) => {
        const original = build(c);
        const copy = original.clone();
        const [changed, kept] = mutateOriginal ? [original, copy] : [copy, original];
        const keys = keysFor(kept);
        const before = fingerprint(kept, keys);
        for (const op of ops) {
          op(changed);
          expect(fingerprint(kept, keys)).toEqual(before);
        }
        // lookupN keeps scratch state; a walk on one ring must not disturb the other.
        if (changed.size > 0) for (const k of keys.slice(0, 20)) changed.lookupN(k, 3);
        expect(fingerprint(kept, keys)).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });

  it('starts equal to the original', () => {
    fc.assert(
      fc.property(clusterArb(0, 6), (c) => {
        const ring = build(c);
        const keys = keysFor(ring);
        expect(fingerprint(ring.clone(), keys)).toEqual(fingerprint(ring, keys));
        expect(ring.clone().hasher).toBe(ring.hasher);
      }),
      { numRuns: 50 },
    );
  });
});

describe('HashRing.toJSON and HashRing.fromJSON', () => {
  it('round-trip through JSON.stringify to a ring with the same members and owners', async () => {
    await fc.assert(
      fc.asyncProperty(clusterArb(0, 8), async (c) => {
        const ring = build(c);
        const text = JSON.stringify(ring);
        const snapshot = ring.toJSON();
        expect(snapshot).toEqual({ version: 1, hasher: c.hasher.name, vnodes: c.vnodes, nodes: ring.nodes() });
        const restored = await HashRing.fromJSON(JSON.parse(text), c.hasher);
        expect(restored.toJSON()).toEqual(snapshot);
        const keys = keysFor(ring);
        expect(owners(restored, keys)).toEqual(owners(ring, keys));
      }),
      { numRuns: 100 },
    );
  });

  it('rebuilds the default hasher by name, with no hasher passed', async () => {
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b', weight: 0.5, meta: { url: 'ws://b' } }], { vnodes: 40 });
    const restored = await HashRing.fromJSON(JSON.parse(JSON.stringify(ring)));
    expect(restored.hasher.name).toBe('xxh32');
    expect(restored.toJSON()).toEqual(ring.toJSON());
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    expect(owners(restored, keys)).toEqual(owners(ring, keys));
  });
});

describe('createXxHash32', () => {
  it('names each seed and hashes differently per seed', async () => {
    const zero = await createXxHash32();
    const seven = await createXxHash32(7);
    const max = await createXxHash32(0xffffffff);
    expect([zero.name, seven.name, max.name]).toEqual(['xxh32', 'xxh32:seed=7', 'xxh32:seed=4294967295']);
    expect((await createXxHash32(0)).name).toBe('xxh32');
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    const differing = keys.filter((k) => zero.hash(k) !== seven.hash(k)).length;
    expect(differing).toBeGreaterThan(195);
    for (const k of keys) {
      const h = seven.hash(k);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      expect(seven.hash(k)).toBe(h);
    }
    expect(Object.isFrozen(seven)).toBe(true);
  });

  it('lets fromJSON pick the seed recorded in the snapshot', async () => {
    for (const seed of [1, 7, 123456789, 0xffffffff]) {
      const hasher = await createXxHash32(seed);
      const nodes: RingNode[] = [{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }];
      const ring = await HashRing.create(nodes, { hasher, vnodes: 32 });
      const restored = await HashRing.fromJSON(JSON.parse(JSON.stringify(ring)));
      expect(restored.hasher.name).toBe(`xxh32:seed=${seed}`);
      const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
      expect(owners(restored, keys)).toEqual(owners(ring, keys));
      // A seed-0 ring over the same members places keys differently.
      const plain = await HashRing.create(nodes, { vnodes: 32 });
      expect(owners(plain, keys)).not.toEqual(owners(ring, keys));
    }
  });
});
