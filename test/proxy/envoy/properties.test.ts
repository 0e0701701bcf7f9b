/**
 * The Envoy placements against independent models: Envoy's algorithms
 * written again over BigInt positions hashed by xxhash-wasm (not ringroute's
 * xxHash64), searched linearly (not through the ring's split layout), for
 * random memberships (weights, hash keys, unicode ids), keys and changes.
 */
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { describe, expect, it } from 'vitest';
import { HashRing, diffRings } from '../../../src/index.js';
import type { RingNode } from '../../../src/index.js';
import { envoyMaglevPlacement, envoyRingHashPlacement } from '../../../src/proxy/envoy/index.js';

const { h64Raw } = await xxhash();
const utf8 = new TextEncoder();
const h64 = (s: string, seed = 0n): bigint => h64Raw(utf8.encode(s), seed);
const byId = (a: RingNode, b: RingNode): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const hashKeyOf = (n: RingNode): string => n.meta?.hashKey || n.meta?.address || n.id;

/** Envoy's ring_hash: BigInt entries, first entry >= hash, else the first. */
function ringModel(nodes: readonly RingNode[], min: number, max: number): (key: string) => string {
  const sorted = [...nodes].sort(byId);
  const sum = sorted.reduce((s, n) => s + (n.weight ?? 1), 0);
  const weights = sorted.map((n) => (n.weight ?? 1) / sum);
  const least = Math.min(1, ...weights);
  const scale = Math.min(Math.ceil(least * min) / least, max);
  const entries: Array<{ hash: bigint; id: string }> = [];
  let current = 0;
  let target = 0;
  sorted.forEach((n, h) => {
    target += scale * weights[h]!;
    for (let i = 0; current < target; i++, current++) entries.push({ hash: h64(`${hashKeyOf(n)}_${i}`), id: n.id });
  });
  entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  return (key) => (entries.find((e) => e.hash >= h64(key)) ?? entries[0]!).id;
}

/** Envoy's maglev: the paper's permutations over BigInt offsets and skips, hosts sorted by key bytes. */
function maglevModel(nodes: readonly RingNode[], size: number): (key: string) => string {
  const hosts = [...nodes].sort((a, b) => Buffer.compare(utf8.encode(hashKeyOf(a)), utf8.encode(hashKeyOf(b))));
  const sum = hosts.reduce((s, n) => s + (n.weight ?? 1), 0);
  const weights = hosts.map((n) => (n.weight ?? 1) / sum);
  const max = Math.max(...weights);
  const M = BigInt(size);
  const offset = hosts.map((n) => h64(hashKeyOf(n)) % M);
  const skip = hosts.map((n) => (h64(hashKeyOf(n), 1n) % (M - 1n)) + 1n);
  const next = hosts.map(() => 0n);
  const target = hosts.map(() => 0);
  const table: string[] = [];
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < hosts.length && filled < size; i++) {
      if (round * weights[i]! < target[i]!) continue;
      target[i]! += max;
      let c = Number((offset[i]! + skip[i]! * next[i]!) % M);
      while (table[c] !== undefined) c = Number((offset[i]! + skip[i]! * ++next[i]!) % M);
      table[c] = hosts[i]!.id;
      next[i]!++;
      filled++;
    }
  }
  return (key) => table[Number(h64(key) % M)]!;
}

const nodeArb: fc.Arbitrary<RingNode> = fc.record(
  {
    id: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }),
    weight: fc.constantFrom(1, 1, 1, 2, 3, 7),
    hashKey: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), { nil: undefined }),
  },
  { requiredKeys: ['id', 'weight'] },
).map((n) => ({ id: n.id, weight: n.weight, ...(n.hashKey === undefined ? {} : { meta: { hashKey: `k:${n.hashKey}` } }) }));
const nodesArb = fc.uniqueArray(nodeArb, { selector: (n) => n.id, minLength: 1, maxLength: 7 }).filter((ns) => new Set(ns.map(hashKeyOf)).size === ns.length);
const keysArb = fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.integer({ min: 0, max: 1e6 }).map((i) => `user:${i}`)), { minLength: 1, maxLength: 60 });
const sizesArb = fc.record({ min: fc.integer({ min: 1, max: 96 }), extra: fc.integer({ min: 0, max: 64 }) });

describe('envoyRingHashPlacement against a BigInt model', () => {
  it('gives every key the host of the first entry at or after its 64-bit hash', () => {
    fc.assert(
      fc.property(nodesArb, keysArb, sizesArb, (nodes, keys, { min, extra }) => {
        const placement = envoyRingHashPlacement({ minimumRingSize: min, maximumRingSize: min + extra });
        const ring = new HashRing({ placement }, nodes);
        const model = ringModel(nodes, min, min + extra);
        expect(ring.lookupMany(keys).map((n) => n.id)).toEqual(keys.map(model));
        for (const key of keys.slice(0, 5)) expect(ring.lookup(key).id).toBe(model(key));
      }),
      { numRuns: 150 },
    );
  });

  it('diffs are exact, including keys a join moves between hosts that stay', () => {
    let between = 0;
    fc.assert(
      fc.property(nodesArb, nodesArb, nodeArb, fc.boolean(), keysArb, sizesArb, (a, other, joiner, join, keys, { min, extra }) => {
        // Half the cases are one node joining a (where Envoy's ring reshuffles hosts that stay), half any other membership.
        const b = join ? [...a, joiner].filter((n, i, all) => all.findIndex((m) => m.id === n.id || hashKeyOf(m) === hashKeyOf(n)) === i) : other;
        const placement = envoyRingHashPlacement({ minimumRingSize: min, maximumRingSize: min + extra });
        const before = new HashRing({ placement }, a);
        const after = new HashRing({ placement }, b);
        const was = ringModel(a, min, min + extra);
        const now = ringModel(b, min, min + extra);
        const expected = keys.filter((k) => was(k) !== now(k)).map((k) => ({ key: k, from: was(k), to: now(k) }));
        expect(diffRings(before, after).movedKeys(keys)).toEqual(expected);
        expect(before.clone().setNodes(b).movedKeys(keys)).toEqual(expected);
        between += expected.filter((m) => b.some((n) => n.id === m.from)).length;
      }),
      { numRuns: 120 },
    );
    expect(between).toBeGreaterThan(0);
  });
});

describe('envoyMaglevPlacement against a BigInt model', () => {
  const primes = fc.constantFrom(7, 13, 17, 101, 257);

  it('gives every key the host in slot hash mod size of the paper\'s table', () => {
    fc.assert(
      fc.property(nodesArb, keysArb, primes, (nodes, keys, size) => {
        const ring = new HashRing({ placement: envoyMaglevPlacement({ tableSize: size }) }, nodes);
        const model = maglevModel(nodes, size);
        expect(ring.lookupMany(keys).map((n) => n.id)).toEqual(keys.map(model));
      }),
      { numRuns: 150 },
    );
  });

  it('diffs are exact', () => {
    fc.assert(
      fc.property(nodesArb, nodesArb, keysArb, primes, (a, b, keys, size) => {
        const placement = envoyMaglevPlacement({ tableSize: size });
        const was = maglevModel(a, size);
        const now = maglevModel(b, size);
        const diff = new HashRing({ placement }, a).setNodes(b);
        expect(diff.movedKeys(keys)).toEqual(keys.filter((k) => was(k) !== now(k)).map((k) => ({ key: k, from: was(k), to: now(k) })));
      }),
      { numRuns: 120 },
    );
  });

  it('does not depend on the order or ids of the nodes, only on their hash keys and weights', () => {
    const nodes = Array.from({ length: 9 }, (_, i) => ({ id: `n${i}`, weight: 1 + (i % 3), meta: { address: `10.0.0.${i}:8080` } }));
    const renamed = nodes.map((n, i) => ({ ...n, id: `z${8 - i}` }));
    const a = new HashRing({ placement: envoyMaglevPlacement() }, nodes);
    const b = new HashRing({ placement: envoyMaglevPlacement() }, renamed);
    const keys = Array.from({ length: 2000 }, (_, i) => `u${i}`);
    expect(b.lookupMany(keys).map((n) => n.meta!.address)).toEqual(a.lookupMany(keys).map((n) => n.meta!.address));
  });
});
