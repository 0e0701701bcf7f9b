/**
 * Shared pieces of the ring tests: hashers (real, coarse, probing, table),
 * fast-check arbitraries for random clusters, and an independent reference
 * model of the ring that the real one is checked against.
 */
import fc from 'fast-check';
import { HashRing, RingError, createXxHash32 } from '../../src/index.js';
import type { Hasher, RingDiff, RingNode } from '../../src/index.js';

export const SPACE = 2 ** 32;

/** The default hasher, xxHash32 seed 0. */
export const xxh32: Hasher = await createXxHash32();

/**
 * xxHash32 kept to its top 6 bits: 64 possible hashes, so points of
 * different nodes collide all the time and the tie rule is exercised.
 */
export const coarse: Hasher = Object.freeze({
  name: 'coarse6',
  hash: (s: string): number => (xxh32.hash(s) >>> 26) * 2 ** 26,
});

/**
 * Wraps a hasher so that a key `"@<n>"` hashes to exactly `n`. Point labels
 * start with a digit, so they still hash with `base`; tests use `@` keys to
 * probe the hash space right at, before and after every point.
 */
export function probing(base: Hasher): Hasher {
  return Object.freeze({
    name: `probe:${base.name}`,
    hash: (s: string): number => (s.charCodeAt(0) === 64 ? Number(s.slice(1)) : base.hash(s)),
  });
}

export const probeXxh = probing(xxh32);
export const probeCoarse = probing(coarse);

/** A hasher that looks labels up in a hand-written table and reads other keys as numbers. */
export function tableHasher(table: Readonly<Record<string, number>>): Hasher {
  return Object.freeze({
    name: 'table',
    hash: (s: string): number => table[s] ?? Number(s),
  });
}

/** A hasher that records every string it hashes. */
export function recordingHasher(base: Hasher): Hasher & { readonly inputs: string[] } {
  const inputs: string[] = [];
  return { name: base.name, inputs, hash: (s: string): number => (inputs.push(s), base.hash(s)) };
}

/** Ids that stress labels: separators, digits that could run into replica numbers, unicode. */
export const trickyIds = ['node1', 'node11', '1', '11', '1:a', 'a', ':', '::', '1:', ':1', '0:node1', 'é', '🙂', 'a b', ' '];

/** Node ids: unicode graphemes, strings built from separator-like characters, and the tricky ones. */
export const idArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.string({ unit: fc.constantFrom(':', '0', '1', 'a', 'é', '🙂', ' ', '\u0000'), minLength: 1, maxLength: 5 }),
  fc.constantFrom(...trickyIds),
);

/** Weights from tiny (one point) to 3, integers and fractions, or unset. */
export const weightArb: fc.Arbitrary<number | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 1, max: 3 }),
  fc.double({ min: 0.01, max: 3, noNaN: true, noDefaultInfinity: true }),
);

export function makeNode(id: string, weight?: number, meta?: Record<string, string>): RingNode {
  const node: { id: string; weight?: number; meta?: Record<string, string> } = { id };
  if (weight !== undefined) node.weight = weight;
  if (meta !== undefined) node.meta = meta;
  return node;
}

export const nodeArb: fc.Arbitrary<RingNode> = fc
  .tuple(idArb, weightArb, fc.option(fc.dictionary(fc.constantFrom('url', 'zone'), fc.string({ maxLength: 4 })), { nil: undefined }))
  .map(([id, weight, meta]) => makeNode(id, weight, meta));

/** A membership list with unique ids. */
export function nodesArb(minLength: number, maxLength: number): fc.Arbitrary<RingNode[]> {
  return fc.uniqueArray(nodeArb, { selector: (n) => n.id, minLength, maxLength });
}

/** Small enough that a property run builds its rings in well under a millisecond. */
export const vnodesArb = fc.integer({ min: 1, max: 16 });

export const hasherArb = fc.constantFrom(probeXxh, probeCoarse);

export interface Cluster {
  readonly nodes: RingNode[];
  readonly vnodes: number;
  readonly hasher: Hasher;
}

export function clusterArb(minNodes: number, maxNodes: number): fc.Arbitrary<Cluster> {
  return fc.record({ nodes: nodesArb(minNodes, maxNodes), vnodes: vnodesArb, hasher: hasherArb });
}

export function build(c: Cluster, nodes: Iterable<RingNode> = c.nodes): HashRing {
  return new HashRing({ vnodes: c.vnodes, hasher: c.hasher }, nodes);
}

/** A permutation of `items` driven by fast-check (shrinks towards the original order). */
export function permutationArb<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.array(fc.nat(), { minLength: items.length, maxLength: items.length }).map((ranks) =>
    items
      .map((item, i) => ({ item, rank: ranks[i]! }))
      .sort((a, b) => a.rank - b.rank)
      .map((x) => x.item),
  );
}

// ---------------------------------------------------------------------------
// The reference model: every point as a { hash, id } pair, sorted by hash then
// id, owner = first point with hash >= key hash, wrapping. Written from the
// spec, sharing no code with src/.

export interface RefPoint {
  readonly hash: number;
  readonly id: string;
}

export function referencePoints(hasher: Hasher, vnodes: number, nodes: Iterable<RingNode>): RefPoint[] {
  const points: RefPoint[] = [];
  for (const node of nodes) {
    const count = Math.max(1, Math.round(vnodes * (node.weight ?? 1)));
    for (let r = 0; r < count; r++) points.push({ hash: hasher.hash(`${r}:${node.id}`), id: node.id });
  }
  return points.sort((a, b) => a.hash - b.hash || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function pointsOf(ring: HashRing): RefPoint[] {
  return referencePoints(ring.hasher, ring.vnodes, ring.nodes());
}

/** Index of the first point with hash >= h, wrapping to 0. */
function firstAtOrAfter(points: readonly RefPoint[], h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.hash < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

export function referenceOwnerAt(points: readonly RefPoint[], h: number): string | null {
  return points.length === 0 ? null : points[firstAtOrAfter(points, h)]!.id;
}

/** The first `n` distinct owners walking clockwise from hash `h`. */
export function referenceWalk(points: readonly RefPoint[], h: number, n: number): string[] {
  const out: string[] = [];
  if (points.length === 0) return out;
  const start = firstAtOrAfter(points, h);
  for (let k = 0; k < points.length && out.length < n; k++) {
    const id = points[(start + k) % points.length]!.id;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** Exact measure of the hash space whose owner differs between two point sets. */
export function referenceMovedMeasure(before: readonly RefPoint[], after: readonly RefPoint[]): number {
  const bounds = [...new Set([...before, ...after].map((p) => p.hash))].sort((a, b) => a - b);
  let moved = 0;
  for (let k = 0; k < bounds.length; k++) {
    const u = bounds[k]!;
    const prev = k === 0 ? bounds[bounds.length - 1]! - SPACE : bounds[k - 1]!;
    if (referenceOwnerAt(before, u) !== referenceOwnerAt(after, u)) moved += u - prev || SPACE;
  }
  return moved;
}

// ---------------------------------------------------------------------------
// Keys.

/** A fixed pool of ordinary keys. */
export const KEYS: readonly string[] = [
  ...Array.from({ length: 400 }, (_, i) => `user:${i}`),
  ...Array.from({ length: 100 }, (_, i) => `sess-${(i * 2654435761) >>> 0}`),
  '',
  ':',
  '0:a',
  'é',
  '🙂',
];

const wrap = (h: number): number => ((h % SPACE) + SPACE) % SPACE;

/** `@` keys at, just before and just after every point of the rings, and at both ends of the space. */
export function probeKeys(...rings: HashRing[]): string[] {
  const hashes = new Set<number>([0, SPACE - 1]);
  for (const ring of rings) {
    for (const p of pointsOf(ring)) {
      hashes.add(p.hash);
      hashes.add(wrap(p.hash - 1));
      hashes.add(wrap(p.hash + 1));
    }
  }
  return [...hashes].map((h) => `@${h}`);
}

/** The ordinary pool plus probes around every point of the rings (rings must use a probing hasher). */
export function keysFor(...rings: HashRing[]): string[] {
  return [...KEYS, ...probeKeys(...rings)];
}

export function ownerOrNull(ring: HashRing, key: string): string | null {
  return ring.size === 0 ? null : ring.lookup(key).id;
}

export function owners(ring: HashRing, keys: readonly string[]): Array<string | null> {
  return keys.map((k) => ownerOrNull(ring, k));
}

/** The brute-force diff: every key whose owner differs, in input order. */
export function bruteMoves(before: HashRing, after: HashRing, keys: readonly string[]): Array<{ key: string; from: string | null; to: string | null }> {
  const out: Array<{ key: string; from: string | null; to: string | null }> = [];
  for (const key of keys) {
    const from = ownerOrNull(before, key);
    const to = ownerOrNull(after, key);
    if (from !== to) out.push({ key, from, to });
  }
  return out;
}

/** Checks the shape invariants of a diff's ranges; returns a reason or undefined. */
export function rangeProblem(diff: RingDiff, beforeEmpty: boolean, afterEmpty: boolean): string | undefined {
  const rs = diff.ranges;
  let total = 0;
  for (let k = 0; k < rs.length; k++) {
    const r = rs[k]!;
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end < 0 || r.start >= SPACE || r.end >= SPACE) {
      return `range ${k} has bounds outside [0, 2^32): ${JSON.stringify(r)}`;
    }
    if (r.from === r.to) return `range ${k} does not change owner: ${JSON.stringify(r)}`;
    if ((r.from === null) !== beforeEmpty) return `range ${k} has from=${r.from} but the before ring is ${beforeEmpty ? '' : 'not '}empty`;
    if ((r.to === null) !== afterEmpty) return `range ${k} has to=${r.to} but the after ring is ${afterEmpty ? '' : 'not '}empty`;
    const wraps = r.end <= r.start;
    if (wraps && k !== rs.length - 1) return `range ${k} wraps but is not the last one`;
    if (k > 0) {
      const p = rs[k - 1]!;
      if (p.start >= r.start) return `ranges ${k - 1} and ${k} are not sorted by start`;
      if (p.end > r.start) return `ranges ${k - 1} and ${k} overlap`;
      if (p.end === r.start && p.from === r.from && p.to === r.to) return `ranges ${k - 1} and ${k} touch with the same move`;
    }
    total += wraps ? r.end - r.start + SPACE : r.end - r.start;
  }
  if (rs.length > 1) {
    const first = rs[0]!;
    const last = rs[rs.length - 1]!;
    if (last.end <= last.start && last.end > first.start) return 'the wrapping range overlaps the first one';
    if (last.end === first.start && last.from === first.from && last.to === first.to) {
      return 'the last and first ranges touch across the wrap with the same move';
    }
  }
  if (total > SPACE) return `ranges cover ${total} > 2^32 hashes`;
  if (diff.movedFraction !== total / SPACE) return `movedFraction ${diff.movedFraction} != summed range length ${total} / 2^32`;
  return undefined;
}

/** Runs `fn`, returning the RingError it throws (fails if it throws nothing or something else). */
export function catchRingError(fn: () => unknown): RingError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RingError) return error;
    throw new Error(`expected a RingError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a RingError, but nothing was thrown');
}

export async function catchRingErrorAsync(fn: () => Promise<unknown>): Promise<RingError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof RingError) return error;
    throw new Error(`expected a RingError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a RingError, but nothing was thrown');
}

/** Everything observable about a ring, to check that a failed call left it unchanged. */
export function fingerprint(ring: HashRing, keys: readonly string[]): unknown {
  return {
    json: JSON.stringify(ring.toJSON()),
    size: ring.size,
    points: ring.points,
    bytes: ring.byteLength,
    owners: owners(ring, keys),
    walks: ring.size === 0 ? [] : keys.slice(0, 50).map((k) => ring.lookupN(k, 3).map((n) => n.id)),
    ownership: [...ring.ownership()],
  };
}
