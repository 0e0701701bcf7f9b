/**
 * ringroute's own Maglev placement against an independent model of the
 * paper's listing 1 (whole permutation arrays, an explicit `next` counter per
 * node), with Envoy's weighted turns; exact diffs; balance; refusals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, RingError, createXxHash32, diffRings, maglevPlacement } from '../../src/index.js';
import type { Hasher, RingNode } from '../../src/index.js';

const hasher: Hasher = await createXxHash32();

/** Listing 1 of the Maglev paper, weighted as Envoy does it; nodes sorted by id. */
function modelTable(nodes: readonly RingNode[], size: number): string[] {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const perm = sorted.map((n) => {
    const offset = hasher.hash(`offset:${n.id}`) % size;
    const skip = (hasher.hash(`skip:${n.id}`) % (size - 1)) + 1;
    return Array.from({ length: size }, (_, j) => (offset + j * skip) % size);
  });
  const weights = sorted.map((n) => n.weight ?? 1);
  const max = Math.max(...weights);
  const next = sorted.map(() => 0);
  const target = sorted.map(() => 0);
  const entry: Array<string | undefined> = new Array(size).fill(undefined);
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < sorted.length && filled < size; i++) {
      if (round * weights[i]! < target[i]!) continue;
      target[i]! += max;
      let c = perm[i]![next[i]!]!;
      while (entry[c] !== undefined) c = perm[i]![++next[i]!]!;
      entry[c] = sorted[i]!.id;
      next[i]!++;
      filled++;
    }
  }
  return entry as string[];
}

const nodesArb = fc
  .uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 5 }), weight: fc.constantFrom(1, 1, 2, 0.5, 3) }), { selector: (n) => n.id, minLength: 1, maxLength: 8 })
  .map((ns) => ns.map((n) => (n.weight === 1 ? { id: n.id } : n)));
const sizeArb = fc.constantFrom(11, 13, 101, 1009);

describe('maglevPlacement', () => {
  it('fills the table as the Maglev paper (listing 1) with Envoy-style weighted turns, and looks keys up at hash mod size', () => {
    fc.assert(
      fc.property(nodesArb, sizeArb, (nodes, size) => {
        fc.pre(nodes.length <= size);
        const ring = new HashRing({ placement: maglevPlacement({ hasher, tableSize: size }) }, nodes);
        const table = modelTable(nodes, size);
        for (let i = 0; i < 200; i++) {
          const key = `user:${i}`;
          expect(ring.lookup(key).id).toBe(table[hasher.hash(key) % size]);
        }
        const share = ring.ownership();
        for (const n of nodes) expect(share.get(n.id)).toBeCloseTo(table.filter((id) => id === n.id).length / size, 12);
      }),
      { numRuns: 200 },
    );
  });

  it('diffs name exactly the keys whose slot changed owner, including moves between nodes that stayed', () => {
    let between = 0;
    fc.assert(
      fc.property(nodesArb, nodesArb, fc.boolean(), sizeArb, (a, other, join, size) => {
        // Half the cases: one node joins a (Maglev then moves keys between nodes that stay); half: any other membership.
        const b = join && !a.some((n) => n.id === '\u0000joiner') ? [...a, { id: '\u0000joiner' }] : other;
        fc.pre(a.length <= size && b.length <= size);
        const p = maglevPlacement({ hasher, tableSize: size });
        const before = new HashRing({ placement: p }, a);
        const after = new HashRing({ placement: p }, b);
        const ta = modelTable(a, size);
        const tb = modelTable(b, size);
        const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
        for (const diff of [diffRings(before, after), before.clone().setNodes(b)]) {
          const expected = keys.filter((k) => ta[hasher.hash(k) % size] !== tb[hasher.hash(k) % size]).map((k) => ({ key: k, from: ta[hasher.hash(k) % size], to: tb[hasher.hash(k) % size] }));
          expect(diff.movedKeys(keys)).toEqual(expected);
          const changed = ta.filter((id, i) => id !== tb[i]).length;
          expect(diff.movedFraction).toBeCloseTo(changed / size, 12);
          between += expected.filter((m) => b.some((n) => n.id === m.from)).length;
        }
      }),
      { numRuns: 150 },
    );
    // Maglev does move keys between nodes that stay: the diffs above must have seen some.
    expect(between).toBeGreaterThan(0);
  });

  it('balances equal nodes within 1% at 10, 100 and 1,000 nodes with the default table', () => {
    const placement = maglevPlacement({ hasher });
    for (const n of [10, 100, 1000]) {
      const ring = new HashRing({ placement }, Array.from({ length: n }, (_, i) => ({ id: `node-${i}` })));
      const shares = [...ring.ownership().values()];
      expect(Math.max(...shares) * n).toBeLessThanOrEqual(1.01);
    }
  });

  it('snapshots round-trip with the same placement and are refused by another', async () => {
    const p = maglevPlacement({ hasher, tableSize: 1009 });
    const ring = new HashRing({ placement: p }, [{ id: 'a' }, { id: 'b', weight: 2 }]);
    const back = await HashRing.fromJSON(JSON.parse(JSON.stringify(ring.toJSON())), p);
    expect(back.lookupMany(['x', 'y', 'z'])).toEqual(ring.lookupMany(['x', 'y', 'z']));
    await expect(HashRing.fromJSON(ring.toJSON(), maglevPlacement({ hasher, tableSize: 1013 }))).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    await expect(HashRing.fromJSON(ring.toJSON())).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    expect(() => diffRings(ring, new HashRing({ hasher }, [{ id: 'a' }]))).toThrow(RingError);
  });

  it('refuses a table size that is not a prime, and more nodes than slots (ring unchanged)', () => {
    for (const tableSize of [0, 1, 100, 65536, 2.5, 2 ** 25 + 1]) {
      expect(() => maglevPlacement({ hasher, tableSize })).toThrow(/prime/);
    }
    expect(() => maglevPlacement({} as never)).toThrow(RingError);
    const ring = new HashRing({ placement: maglevPlacement({ hasher, tableSize: 3 }) }, [{ id: 'a' }, { id: 'b' }]);
    expect(() => ring.setNodes([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }])).toThrow(/cannot hold 4 nodes/);
    expect(ring.nodes().map((n) => n.id)).toEqual(['a', 'b']);
    expect(() => new HashRing({ placement: maglevPlacement({ hasher }), vnodes: 160 })).toThrow(/vnodes/);
  });
});

describe('modulo', () => {
  it('equals BigInt remainder for every integer below 2^53 and modulus below 2^31', async () => {
    const { modulo } = await import('../../src/ring/maglev-table.js');
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (x, m) => {
        expect(modulo(Number(x), m)).toBe(Number(x % BigInt(m)));
      }),
      { numRuns: 20_000 },
    );
    for (const m of [65537, 5000011, 7]) for (const x of [0, m - 1, m, 2 ** 32 - 1, 2 ** 53 - 1, 2 ** 53 - 2]) expect(modulo(x, m)).toBe(Number(BigInt(x) % BigInt(m)));
  });
});
