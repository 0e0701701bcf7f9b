import type { Layout } from './points.js';
import type { Hasher, MovedRange, RingDiff, RingNode } from './types.js';

const SPACE = 2 ** 32;

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
  const bh = before.layout.hashes;
  const bo = before.layout.owners;
  const ah = after.layout.hashes;
  const ao = after.layout.owners;
  const nb = bh.length;
  const na = ah.length;
  if (nb === 0 && na === 0) return [];

  // Before-slot -> after-slot translation, so owners compare as integers.
  const afterSlot = new Map<string, number>();
  after.nodes.forEach((node, slot) => node !== undefined && afterSlot.set(node.id, slot));
  const translate = new Int32Array(before.nodes.length).fill(-1);
  before.nodes.forEach((node, slot) => {
    if (node !== undefined) translate[slot] = afterSlot.get(node.id) ?? -1;
  });

  const raw: Array<{ start: number; end: number; from: number; to: number }> = [];
  const last = Math.max(nb ? bh[nb - 1]! : 0, na ? ah[na - 1]! : 0);
  let prev = last;
  let i = 0;
  let j = 0;
  for (;;) {
    // Next distinct boundary of the union.
    const u = i < nb ? (j < na ? Math.min(bh[i]!, ah[j]!) : bh[i]!) : j < na ? ah[j]! : -1;
    if (u < 0) break;
    const fromSlot = nb ? bo[i < nb ? i : 0]! : -1;
    const toSlot = na ? ao[j < na ? j : 0]! : -1;
    const fromTranslated = fromSlot < 0 ? -2 : translate[fromSlot]!;
    if (fromTranslated !== toSlot) {
      const top = raw[raw.length - 1];
      if (top !== undefined && top.end === prev && top.from === fromSlot && top.to === toSlot) top.end = u;
      else raw.push({ start: prev, end: u, from: fromSlot, to: toSlot });
    }
    prev = u;
    while (i < nb && bh[i] === u) i++;
    while (j < na && ah[j] === u) j++;
  }
  // The first arc starts at the last point (it wraps); join it to the last arc when they touch.
  const first = raw[0];
  const tail = raw[raw.length - 1];
  if (raw.length > 1 && first !== undefined && tail !== undefined && tail.end === last && first.start === last && tail.from === first.from && tail.to === first.to) {
    first.start = tail.start;
    raw.pop();
  }
  // Sorted by start: only the arc that wraps can start at or after its end, and it starts last.
  if (raw.length > 1 && raw[0]!.start >= raw[0]!.end) raw.push(raw.shift()!);
  return raw.map(({ start, end, from, to }) =>
    Object.freeze({ start, end, from: from < 0 ? null : before.nodes[from]!.id, to: to < 0 ? null : after.nodes[to]!.id }),
  );
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
    const wraps = ranges.length > 0 && ranges[ranges.length - 1]!.start >= ranges[ranges.length - 1]!.end;
    this.#linear = wraps ? ranges.length - 1 : ranges.length;
    this.#starts = Float64Array.from(ranges, (r) => r.start);
    this.#ends = Float64Array.from(ranges, (r) => r.end);
    this.#moves = ranges.map((r) => Object.freeze({ from: r.from, to: r.to }));
  }

  owner(key: string): { from: string | null; to: string | null } | undefined {
    const found = this.#find(this.#hasher.hash(key));
    return found < 0 ? undefined : this.#moves[found];
  }

  movedKeys(keys: Iterable<string>): Array<{ key: string; from: string | null; to: string | null }> {
    const out: Array<{ key: string; from: string | null; to: string | null }> = [];
    if (this.ranges.length === 0) return out;
    for (const key of keys) {
      const found = this.#find(this.#hasher.hash(key));
      if (found >= 0) {
        const move = this.#moves[found]!;
        out.push({ key, from: move.from, to: move.to });
      }
    }
    return out;
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
