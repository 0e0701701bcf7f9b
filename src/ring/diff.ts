import { defaultSeedOf, xxh32Signed } from './hasher.js';
import type { Layout } from './points.js';
import { SPLIT, type SplitTable } from './table.js';
import type { Hasher, MovedRange, RingDiff, RingNode } from './types.js';

const SPACE = 2 ** 32;
/** Keys hashed per pass of `movedKeys`. */
const CHUNK = 1024;

/** One side of a diff: the points and a way to name their owners. */
export interface DiffSide {
  readonly layout: Layout;
  /** Node of each slot (a sparse table: only slots used by `layout` are read). */
  readonly nodes: ReadonlyArray<RingNode | undefined>;
  /** Split coordinates of a table placement with 64-bit positions (owners at or above `SPLIT` index them). */
  readonly splits?: SplitTable;
  /** Size of the key coordinate space. @default 2^32 */
  readonly space?: number;
}

/** The membership part of a diff, computed by the caller. */
export interface NodeChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly reweighted: readonly string[];
  readonly updated: readonly string[];
}

/** Length of the arc (start, end], wrapping past `space - 1`; `start === end` is the whole ring. */
export function arcLength(start: number, end: number, space = SPACE): number {
  return end > start ? end - start : end - start + space;
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
  const lowArcs: MovedRange[] = [];
  const space = after.space ?? before.space ?? SPACE;
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
    if (fromSlot >= SPLIT || toSlot >= SPLIT) {
      // A coordinate split by 64-bit positions on one side at least: its arc is u alone (the side splitting it has a boundary at u - 1).
      splitArcs(u, prev, pieces(before, fromSlot, translate), pieces(after, toSlot, null), arcs, lowArcs, before, after, space);
    } else if ((fromSlot < 0 ? -3 : translate[fromSlot]!) !== toSlot) arcs.push(prev, u, fromSlot, toSlot);
    prev = u;
    if (x === u) while (++i < nb && bp[2 * i] === u);
    if (y === u) while (++j < na && ap[2 * j] === u);
  }
  const count = arcs.length;
  if (count === 0) return lowArcs.length === 0 ? [] : sortRanges(lowArcs);
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
  return lowArcs.length === 0 ? out : sortRanges(out.concat(lowArcs));
}

/** Ranges by start, wrapping ones (start >= end) last, then by their low bits. */
function sortRanges(ranges: MovedRange[]): MovedRange[] {
  const wraps = (r: MovedRange): number => (r.start >= r.end ? 1 : 0);
  return ranges.sort((a, b) => wraps(a) - wraps(b) || a.start - b.start || (a.low?.first ?? -1) - (b.low?.first ?? -1));
}

/**
 * One side's owner at a coordinate as pieces of the low 32 bits: `lasts[i]`
 * is the last low value of piece `i`, `owners[i]` its owner (before-slots
 * translated to after-slots when `translate` is given, -1 for a node that
 * left or an empty side).
 */
interface Pieces {
  readonly lasts: number[];
  readonly owners: number[];
  /** Untranslated owners, to name them. */
  readonly slots: number[];
}

function pieces(side: DiffSide, token: number, translate: Int32Array | null): Pieces {
  const name = (slot: number): number => (slot < 0 ? -1 : translate === null ? slot : translate[slot]!);
  if (token < SPLIT) return { lasts: [0xffffffff], owners: [token < 0 ? (translate === null ? -2 : -3) : name(token)], slots: [token] };
  const splits = side.splits!;
  const k = token - SPLIT;
  const lasts: number[] = [];
  const slots: number[] = [];
  for (let i = splits.start[k]!; i < splits.start[k + 1]!; i++) {
    lasts.push(splits.lows[i]!);
    slots.push(splits.owners[i]!);
  }
  if (lasts[lasts.length - 1] !== 0xffffffff) {
    lasts.push(0xffffffff);
    slots.push(splits.next[k]!);
  }
  return { lasts, owners: slots.map(name), slots };
}

/**
 * The arc of coordinate `u` when a side splits it: compares the two sides'
 * owners piece by piece over the low bits and records where they differ. A
 * coordinate that moved whole to one node is a plain arc, so it coalesces
 * with its neighbours; otherwise each differing stretch of low bits is a
 * range with `low`.
 */
function splitArcs(u: number, prev: number, from: Pieces, to: Pieces, arcs: ArcList, lowArcs: MovedRange[], before: DiffSide, after: DiffSide, space: number): void {
  const found: Array<{ first: number; last: number; from: number; to: number }> = [];
  let first = 0;
  let i = 0;
  let j = 0;
  while (i < from.lasts.length && j < to.lasts.length) {
    const end = Math.min(from.lasts[i]!, to.lasts[j]!);
    if (from.owners[i] !== to.owners[j]) {
      const f = from.slots[i]!;
      const t = to.slots[j]!;
      const tail = found[found.length - 1];
      if (tail !== undefined && tail.last === first - 1 && tail.from === f && tail.to === t) tail.last = end;
      else found.push({ first, last: end, from: f, to: t });
    }
    if (end === 0xffffffff) break;
    first = end + 1;
    if (from.lasts[i] === end) i++;
    if (to.lasts[j] === end) j++;
  }
  if (found.length === 0) return;
  if (found.length === 1 && found[0]!.first === 0 && found[0]!.last === 0xffffffff) {
    arcs.push(prev, u, found[0]!.from, found[0]!.to);
    return;
  }
  const start = u === 0 ? space - 1 : u - 1;
  for (const f of found) {
    lowArcs.push(
      Object.freeze({
        start,
        end: u,
        from: f.from < 0 ? null : before.nodes[f.from]!.id,
        to: f.to < 0 ? null : after.nodes[f.to]!.id,
        low: Object.freeze({ first: f.first, last: f.last }),
      }),
    );
  }
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
  /** Number of whole-coordinate ranges (the ones searched by `#find`). */
  readonly #whole: number;
  readonly #moves: ReadonlyArray<{ from: string | null; to: string | null }>;
  /** Ranges with `low`, by coordinate (64-bit table placements only). */
  readonly #lows: ReadonlyMap<number, ReadonlyArray<MovedRange>>;

  constructor(changes: NodeChanges, ranges: MovedRange[], hasher: Hasher, space = SPACE) {
    this.added = Object.freeze([...changes.added]);
    this.removed = Object.freeze([...changes.removed]);
    this.reweighted = Object.freeze([...changes.reweighted]);
    this.updated = Object.freeze([...changes.updated]);
    this.ranges = Object.freeze(ranges);
    const whole: MovedRange[] = [];
    const lows = new Map<number, MovedRange[]>();
    let total = 0;
    let partial = 0;
    for (const r of ranges) {
      if (r.low === undefined) {
        whole.push(r);
        total += arcLength(r.start, r.end, space);
        continue;
      }
      partial += r.low.last - r.low.first + 1;
      const list = lows.get(r.end);
      if (list === undefined) lows.set(r.end, [r]);
      else list.push(r);
    }
    this.movedFraction = (total + partial / SPACE) / space;
    this.#hasher = hasher;
    this.#seed = defaultSeedOf(hasher);
    this.#lows = lows;
    this.#whole = whole.length;
    const wraps = whole.length > 0 && whole[whole.length - 1]!.start >= whole[whole.length - 1]!.end;
    this.#linear = wraps ? whole.length - 1 : whole.length;
    this.#starts = Float64Array.from(whole, (r) => r.start);
    this.#ends = Float64Array.from(whole, (r) => r.end);
    this.#moves = whole.map((r) => Object.freeze({ from: r.from, to: r.to }));
  }

  owner(key: string): { from: string | null; to: string | null } | undefined {
    const h = this.#hash(key);
    const found = this.#find(h);
    return found >= 0 ? this.#moves[found] : this.#lowMove(key, h);
  }

  /** The move of `key` at coordinate `h` from the ranges with `low`, if any holds it. */
  #lowMove(key: string, h: number): { from: string | null; to: string | null } | undefined {
    const list = this.#lows.size === 0 ? undefined : this.#lows.get(h);
    if (list === undefined) return undefined;
    const low = (this.#hasher as { low?(key: string): number }).low!.call(this.#hasher, key);
    for (const r of list) if (low >= r.low!.first && low <= r.low!.last) return { from: r.from, to: r.to };
    return undefined;
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
        const move = found >= 0 ? this.#moves[found] : this.#lowMove(chunk[k]!, hashes[k]!);
        if (move !== undefined) out.push({ key: chunk[k]!, from: move.from, to: move.to });
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
    if (this.#linear < this.#whole) {
      const w = this.#linear;
      if (h > this.#starts[w]! || h <= ends[w]!) return w;
    }
    return -1;
  }
}
