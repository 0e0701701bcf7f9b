import { defaultSeedOf, xxh32Signed } from './hasher.js';
import type { Layout } from './points.js';
import type { Hasher, MovedRange, RingDiff, RingNode } from './types.js';

const SPACE = 2 ** 32;
/** Keys hashed per pass of `movedKeys`. */
const CHUNK = 1024;

/** One side of a diff: the points and a way to name their owners. */
export interface DiffSide {
  readonly layout: Layout;
  /** Node of each slot (a sparse table: only slots used by `layout` are read). */
  readonly nodes: ReadonlyArray<RingNode | undefined>;
}

/** The membership part of a diff, computed by the caller. */
export interface NodeChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly reweighted: readonly string[];
  readonly updated: readonly string[];
}

/** Length of the arc (start, end], wrapping; `start === end` is the whole ring. */
export function arcLength(start: number, end: number): number {
  return end > start ? end - start : end - start + SPACE;
}

/**
 * Compares two layouts in one merge walk over their sorted points and
 * returns the coalesced arcs whose owner differs.
 *
 * Between two consecutive distinct point hashes u' < u of the union of both
 * rings, every key hash in (u', u] has the same owner on each side: the owner
 * of that side's first point >= u. So comparing owners at each union point
 * is exact.
 */
export function movedRanges(before: DiffSide, after: DiffSide): MovedRange[] {
  // Pairs (hash, owner slot): point i at [2i], its owner at [2i + 1].
  const bp = before.layout.pairs;
  const ap = after.layout.pairs;
  const nb = before.layout.length;
  const na = after.layout.length;
  if (nb === 0 && na === 0) return [];

  // Before-slot -> after-slot translation, so owners compare as integers.
  const afterSlot = new Map<string, number>();
  after.nodes.forEach((node, slot) => node !== undefined && afterSlot.set(node.id, slot));
  const translate = new Int32Array(before.nodes.length).fill(-1);
  before.nodes.forEach((node, slot) => {
    if (node !== undefined) translate[slot] = afterSlot.get(node.id) ?? -1;
  });

  // Arcs in typed arrays: hashes above 2^31 are doubles, and objects whose
  // fields change representation deoptimize the walk.
  const arcs = new ArcList();
  const last = Math.max(nb ? bp[2 * nb - 2]! : 0, na ? ap[2 * na - 2]! : 0);
  const PAST = SPACE; // above every hash: marks an exhausted side
  let prev = last;
  let i = 0;
  let j = 0;
  while (i < nb || j < na) {
    // Next distinct boundary u of the union; each side's owner there is its first point >= u.
    const x = i < nb ? bp[2 * i]! : PAST;
    const y = j < na ? ap[2 * j]! : PAST;
    const u = x < y ? x : y;
    // -1 marks an empty side. A before-node missing after translates to -1 too,
    // so an empty after side is -2 and an empty before side -3: never equal.
    const fromSlot = nb ? bp[2 * (i < nb ? i : 0) + 1]! : -1;
    const toSlot = na ? ap[2 * (j < na ? j : 0) + 1]! : -2;
    if ((fromSlot < 0 ? -3 : translate[fromSlot]!) !== toSlot) arcs.push(prev, u, fromSlot, toSlot);
    prev = u;
    if (x === u) while (++i < nb && bp[2 * i] === u);
    if (y === u) while (++j < na && ap[2 * j] === u);
  }
  const count = arcs.length;
  if (count === 0) return [];
  const { starts, ends, froms, tos } = arcs;
  // The first arc starts at the last point (it wraps); join it to the last arc when they touch.
  let first = 0;
  let end = count;
  if (count > 1 && ends[count - 1] === last && starts[0] === last && froms[count - 1] === froms[0] && tos[count - 1] === tos[0]) {
    starts[0] = starts[count - 1]!;
    end--;
  }
  const out: MovedRange[] = [];
  // Sorted by start: only the first arc can wrap (start >= end), and then it starts after all others.
  const wraps = end > 1 && starts[0]! >= ends[0]!;
  if (wraps) first = 1;
  for (let k = first; k < end; k++) out.push(rangeAt(arcs, k, before, after));
  if (wraps) out.push(rangeAt(arcs, 0, before, after));
  return out;
}

function rangeAt(arcs: ArcList, k: number, before: DiffSide, after: DiffSide): MovedRange {
  const from = arcs.froms[k]!;
  const to = arcs.tos[k]!;
  return Object.freeze({
    start: arcs.starts[k]!,
    end: arcs.ends[k]!,
    from: from < 0 ? null : before.nodes[from]!.id,
    to: to < 0 ? null : after.nodes[to]!.id,
  });
}

/** A growable list of arcs (start, end] with before/after owner slots, in typed arrays. */
class ArcList {
  starts = new Float64Array(64);
  ends = new Float64Array(64);
  froms = new Int32Array(64);
  tos = new Int32Array(64);
  length = 0;

  /** Appends an arc, or extends the previous one when it ends at `start` with the same owners. */
  push(start: number, end: number, from: number, to: number): void {
    const n = this.length;
    if (n > 0 && this.ends[n - 1] === start && this.froms[n - 1] === from && this.tos[n - 1] === to) {
      this.ends[n - 1] = end;
      return;
    }
    if (n === this.starts.length) this.#grow();
    this.starts[n] = start;
    this.ends[n] = end;
    this.froms[n] = from;
    this.tos[n] = to;
    this.length = n + 1;
  }

  #grow(): void {
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts, (n) => new Float64Array(n));
    this.ends = grow(this.ends, (n) => new Float64Array(n));
    this.froms = grow(this.froms, (n) => new Int32Array(n));
    this.tos = grow(this.tos, (n) => new Int32Array(n));
  }
}

/** A {@link RingDiff} backed by its coalesced ranges: it keeps no reference to either ring. */
export class RangeDiff implements RingDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly reweighted: readonly string[];
  readonly updated: readonly string[];
  readonly ranges: readonly MovedRange[];
  readonly movedFraction: number;
  readonly #hasher: Hasher;
  /** Seed of the default hasher, called directly; -1 for another hasher. */
  readonly #seed: number;
  // Non-wrapping ranges' bounds, for binary search; the wrapping one, if any, apart.
  readonly #starts: Float64Array;
  readonly #ends: Float64Array;
  readonly #linear: number;
  readonly #moves: ReadonlyArray<{ from: string | null; to: string | null }>;

  constructor(changes: NodeChanges, ranges: MovedRange[], hasher: Hasher) {
    this.added = Object.freeze([...changes.added]);
    this.removed = Object.freeze([...changes.removed]);
    this.reweighted = Object.freeze([...changes.reweighted]);
    this.updated = Object.freeze([...changes.updated]);
    this.ranges = Object.freeze(ranges);
    let total = 0;
    for (const r of ranges) total += arcLength(r.start, r.end);
    this.movedFraction = total / SPACE;
    this.#hasher = hasher;
    this.#seed = defaultSeedOf(hasher);
    const wraps = ranges.length > 0 && ranges[ranges.length - 1]!.start >= ranges[ranges.length - 1]!.end;
    this.#linear = wraps ? ranges.length - 1 : ranges.length;
    this.#starts = Float64Array.from(ranges, (r) => r.start);
    this.#ends = Float64Array.from(ranges, (r) => r.end);
    this.#moves = ranges.map((r) => Object.freeze({ from: r.from, to: r.to }));
  }

  owner(key: string): { from: string | null; to: string | null } | undefined {
    const found = this.#find(this.#hash(key));
    return found < 0 ? undefined : this.#moves[found];
  }

  movedKeys(keys: Iterable<string>): Array<{ key: string; from: string | null; to: string | null }> {
    const out: Array<{ key: string; from: string | null; to: string | null }> = [];
    if (this.ranges.length === 0) return out;
    // Hash a chunk of keys first, search the ranges second: two small loops, no allocation per key but the result.
    const chunk: string[] = [];
    const hashes = new Uint32Array(CHUNK);
    const flush = (): void => {
      for (let k = 0; k < chunk.length; k++) hashes[k] = this.#hash(chunk[k]!);
      for (let k = 0; k < chunk.length; k++) {
        const found = this.#find(hashes[k]!);
        if (found >= 0) {
          const move = this.#moves[found]!;
          out.push({ key: chunk[k]!, from: move.from, to: move.to });
        }
      }
      chunk.length = 0;
    };
    for (const key of keys) {
      chunk.push(key);
      if (chunk.length === CHUNK) flush();
    }
    flush();
    return out;
  }

  #hash(key: string): number {
    const seed = this.#seed;
    return seed >= 0 ? xxh32Signed(key, seed) >>> 0 : this.#hasher.hash(key);
  }

  /** Index of the range holding hash `h`, or -1. */
  #find(h: number): number {
    const ends = this.#ends;
    let lo = 0;
    let hi = this.#linear;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.#linear && this.#starts[lo]! < h) return lo;
    if (this.#linear < this.ranges.length) {
      const w = this.#linear;
      if (h > this.#starts[w]! || h <= ends[w]!) return w;
    }
    return -1;
  }
}
