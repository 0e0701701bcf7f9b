/**
 * Table placements with 64-bit positions, checked against an independent
 * model: a sorted list of BigInt positions searched for the first one >= the
 * key's 64-bit hash. The positions' top 32 bits are drawn from a handful of
 * values, so most coordinates are shared by several positions, and keys are
 * probed at, just below and just above every position: the split layout's
 * every case (gaps, shared coordinates, coordinate 0, 2^32 - 1, wrapping)
 * and the diffs' ranges with `low` are exercised.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, RingError, diffRings } from '../../src/index.js';
import type { RingNode, TablePlacement } from '../../src/index.js';

const TOP = 0xffffffff;

/** A key `"<hi>:<lo>"` hashes to exactly hi * 2^32 + lo. */
function key(hi: number, lo: number): string {
  return `${hi}:${lo}`;
}
function parts(k: string): [number, number] {
  const [hi, lo] = k.split(':').map(Number);
  return [hi!, lo!];
}

/** Positions of each node: a pure function of its id, from a small set of coordinates. */
function positionsOf(node: RingNode, coords: readonly number[]): Array<[number, number]> {
  let x = 0;
  for (const c of node.id) x = (Math.imul(x, 31) + c.charCodeAt(0)) >>> 0;
  const out: Array<[number, number]> = [];
  const count = 1 + (x % 4);
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0;
    const lo = [0, 1, TOP - 1, TOP, x][x % 5]!;
    out.push([coords[x % coords.length]!, lo]);
  }
  return out;
}

function placement(coords: readonly number[]): TablePlacement {
  return {
    kind: 'table',
    name: `test64:${coords.join(',')}`,
    hasher: { name: 'test64', hash: (k: string) => parts(k)[0], low: (k: string) => parts(k)[1] },
    table(nodes) {
      const all: Array<{ hi: number; lo: number; owner: number }> = [];
      nodes.forEach((n, owner) => {
        for (const [hi, lo] of positionsOf(n, coords)) all.push({ hi, lo, owner });
      });
      all.sort((a, b) => a.hi - b.hi || a.lo - b.lo || a.owner - b.owner);
      // Equal positions: keep the first (smaller id), as a placement must make them distinct.
      const kept = all.filter((p, i) => i === 0 || p.hi !== all[i - 1]!.hi || p.lo !== all[i - 1]!.lo);
      return {
        positions: Uint32Array.from(kept, (p) => p.hi),
        lows: Uint32Array.from(kept, (p) => p.lo),
        owners: Uint32Array.from(kept, (p) => p.owner),
      };
    },
  };
}

/** The model: owner of a 64-bit hash = node of the first position >= it, else of the first. */
function model(p: TablePlacement, nodes: readonly RingNode[]): (k: string) => string {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const t = p.table(sorted);
  const pos = Array.from(t.positions, (hi, i) => (BigInt(hi) << 32n) | BigInt(t.lows![i]!));
  return (k) => {
    const [hi, lo] = parts(k);
    const h = (BigInt(hi) << 32n) | BigInt(lo);
    const i = pos.findIndex((x) => x >= h);
    return sorted[t.owners[i < 0 ? 0 : i]!]!.id;
  };
}

/** Keys at, below and above every position of both memberships, plus the ends of the space. */
function probes(p: TablePlacement, coords: readonly number[], ...memberships: RingNode[][]): string[] {
  const out = new Set<string>([key(0, 0), key(TOP, TOP), key(0, TOP), key(TOP, 0)]);
  for (const nodes of memberships) {
    for (const n of nodes) {
      for (const [hi, lo] of positionsOf(n, coords)) {
        for (const d of [-1, 0, 1]) {
          const x = (BigInt(hi) << 32n) + BigInt(lo) + BigInt(d);
          const y = ((x % 2n ** 64n) + 2n ** 64n) % 2n ** 64n;
          out.add(key(Number(y >> 32n), Number(y & 0xffffffffn)));
        }
        for (const c of [hi - 1, hi + 1]) if (c >= 0 && c <= TOP) out.add(key(c, 7));
      }
    }
  }
  void p;
  return [...out];
}

const coordsArb = fc.uniqueArray(fc.oneof(fc.constantFrom(0, 1, 2, TOP - 1, TOP), fc.integer({ min: 0, max: TOP })), { minLength: 1, maxLength: 5 });
const nodesArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 0, maxLength: 7 }).map((ids) => ids.map((id) => ({ id })));

describe('table placements with 64-bit positions', () => {
  it('lookup, lookupMany and ownership agree with a BigInt model of the positions', () => {
    fc.assert(
      fc.property(coordsArb, nodesArb, (coords, nodes) => {
        fc.pre(nodes.length > 0);
        const p = placement(coords);
        const ring = new HashRing({ placement: p }, nodes);
        const owner = model(p, nodes);
        const keys = probes(p, coords, nodes);
        for (const k of keys) expect(ring.lookup(k).id).toBe(owner(k));
        expect(ring.lookupMany(keys).map((n) => n.id)).toEqual(keys.map(owner));
        const shares = [...ring.ownership().values()].reduce((a, b) => a + b, 0);
        expect(shares).toBeCloseTo(1, 9);
      }),
      { numRuns: 300 },
    );
  });

  it('diffs are exact: owner() and movedKeys() name exactly the probed keys whose owner changed, with both owners', () => {
    fc.assert(
      fc.property(coordsArb, nodesArb, nodesArb, (coords, a, b) => {
        const p = placement(coords);
        const before = new HashRing({ placement: p }, a);
        const after = new HashRing({ placement: p }, b);
        const keys = probes(p, coords, a, b);
        const was = a.length === 0 ? () => null : model(p, a);
        const now = b.length === 0 ? () => null : model(p, b);
        for (const diff of [diffRings(before, after), before.clone().setNodes(b)]) {
          const moved = diff.movedKeys(keys);
          const expected = keys.filter((k) => was(k) !== now(k)).map((k) => ({ key: k, from: was(k), to: now(k) }));
          expect(moved).toEqual(expected);
          for (const k of keys) expect(diff.owner(k)).toEqual(was(k) === now(k) ? undefined : { from: was(k), to: now(k) });
          for (const r of diff.ranges) if (r.low !== undefined) expect(r.low.first).toBeLessThanOrEqual(r.low.last);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('movedFraction is the exact share of 64-bit hashes that changed owner', () => {
    // One coordinate, two nodes: the moved share is a fraction of one coordinate.
    const p = placement([5]);
    const a = [{ id: 'a' }];
    const b = [{ id: 'a' }, { id: 'bb' }];
    const diff = new HashRing({ placement: p }, a).setNodes(b);
    const partial = diff.ranges.filter((r) => r.low !== undefined).reduce((s, r) => s + (r.low!.last - r.low!.first + 1), 0);
    const whole = diff.ranges.filter((r) => r.low === undefined).reduce((s, r) => s + (r.end > r.start ? r.end - r.start : r.end - r.start + 2 ** 32), 0);
    expect(diff.movedFraction).toBe((whole + partial / 2 ** 32) / 2 ** 32);
  });

  it('lookupN walks the positions from the key: the owner first, then distinct nodes', () => {
    fc.assert(
      fc.property(coordsArb, nodesArb, fc.integer({ min: 1, max: 8 }), (coords, nodes, n) => {
        fc.pre(nodes.length > 0);
        const p = placement(coords);
        const ring = new HashRing({ placement: p }, nodes);
        for (const k of probes(p, coords, nodes).slice(0, 40)) {
          const got = ring.lookupN(k, n);
          expect(got[0]!.id).toBe(ring.lookup(k).id);
          expect(new Set(got.map((x) => x.id)).size).toBe(got.length);
          expect(got.length).toBe(Math.min(n, new Set(p.table([...nodes].sort((x, y) => (x.id < y.id ? -1 : 1))).owners).size));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a table that is not ascending, names a missing node, or leaves the space; the ring is unchanged', () => {
    const good = placement([3]);
    const ring = new HashRing({ placement: good }, [{ id: 'a' }]);
    const bad = (table: ReturnType<TablePlacement['table']>): TablePlacement => ({ ...good, name: 'bad', table: () => table });
    const cases = [
      bad({ positions: Uint32Array.of(2, 1), owners: Uint32Array.of(0, 0) }),
      bad({ positions: Uint32Array.of(1, 1), lows: Uint32Array.of(4, 4), owners: Uint32Array.of(0, 0) }),
      bad({ positions: Uint32Array.of(1), owners: Uint32Array.of(3) }),
      bad({ positions: Uint32Array.of(), owners: Uint32Array.of() }),
      { ...bad({ positions: Uint32Array.of(9), owners: Uint32Array.of(0) }), space: 9 },
    ];
    for (const p of cases) {
      const r = new HashRing({ placement: p });
      expect(() => r.add({ id: 'x' })).toThrow(RingError);
      expect(r.size).toBe(0);
    }
    // 64-bit positions need the hasher's low(key).
    const noLow: TablePlacement = { ...good, name: 'no-low', hasher: { name: 'h', hash: () => 0 } };
    expect(() => new HashRing({ placement: noLow }, [{ id: 'a' }])).toThrow(/low\(key\)/);
    const snapshot = ring.toJSON();
    expect(snapshot.placement).toBe(good.name);
    expect(ring.lookup(key(3, 0)).id).toBe('a');
  });
});
