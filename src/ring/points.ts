/**
 * The ring's points: sorted typed arrays that are replaced, never mutated, so
 * clones can share them. A key is owned by the first point clockwise whose
 * hash is >= the key's hash (wrapping to the first point).
 *
 * Memory: 4 bytes of hash + 4 bytes of owner slot per point, side by side,
 * plus a bucket index of at most 2 bytes per point.
 */
import { RingError, describe } from '../errors.js';
import type { Hasher } from './types.js';

export interface Layout {
  /** Number of points. */
  readonly length: number;
  /**
   * The points as (hash, owner slot) pairs, ascending by hash: point `i` is
   * at `pairs[2i]`, owned by slot `pairs[2i + 1]`. Equal hashes are ordered
   * by owner id, so the smaller id wins them. One array rather than two, so
   * a lookup reads a point and its owner from the same cache line.
   *
   * {@link PAD} more pairs follow the points: hash 0xffffffff, owner of
   * point 0. No key hash is above them, so a search stops there without a
   * bound check, and finds the owner a hash past the last point wraps to.
   */
  readonly pairs: Uint32Array;
  /** `index[b]` = first point whose top bits are >= b; `2^bits + 1` entries. */
  readonly index: Uint32Array;
  /** `32 - bits`: a hash's bucket is `hash >>> shift`. */
  readonly shift: number;
}

/** Sentinel pairs after the points (see {@link Layout.pairs}). */
export const PAD = 2;

/** A zeroed pair array for `n` points, sentinels included; fill points, then call {@link buildIndex}. */
export function newPairs(n: number): Uint32Array {
  return new Uint32Array(2 * (n + PAD));
}

/**
 * Index of the first point whose hash is >= `h`, or `layout.length` (the
 * sentinel) when there is none; times two, as an offset into `pairs`, whose
 * next entry is the owner's slot. `layout` must not be empty.
 *
 * The bucket of `h`'s top bits gives the first point to look at; the count
 * of its points below `h` is found without data-dependent branches for up to
 * four (a bucket holds about two on average): one compare two points ahead,
 * then two single steps. Every point of a later bucket, and every sentinel,
 * is >= h, so no bucket end is needed; the final loop only runs for a bucket
 * with more than four points below `h`.
 */
export function firstAtOrAfter(pairs: Uint32Array, index: Uint32Array, shift: number, h: number): number {
  let i = index[h >>> shift]! << 1;
  i += +(pairs[i + 2]! < h) << 2;
  i += +(pairs[i]! < h) << 1;
  i += +(pairs[i]! < h) << 1;
  while (pairs[i]! < h) i += 2;
  return i;
}

export const EMPTY_LAYOUT: Layout = buildIndex(newPairs(0), 0);

/** Points of a node with `weight` at `vnodes` per unit: absolute, at least one. */
export function pointCount(weight: number, vnodes: number): number {
  return Math.max(1, Math.round(vnodes * weight));
}

/**
 * Label of a node's `replica`-th point. The replica number comes first and
 * ends at the first `:`, which an integer never contains, so the label is
 * injective: `1:node1` (node1, replica 1) and `11:node1` cannot meet
 * `1:node11`, whatever characters the ids hold.
 */
export function pointLabel(id: string, replica: number): string {
  return `${replica}:${id}`;
}

/** Hashes of replicas [from, to) of node `id`, sorted ascending. */
export function nodePoints(hasher: Hasher, id: string, from: number, to: number): Uint32Array {
  const out = new Uint32Array(to - from);
  for (let r = from; r < to; r++) out[r - from] = checkedHash(hasher, pointLabel(id, r));
  return out.sort();
}

function checkedHash(hasher: Hasher, label: string): number {
  const h = hasher.hash(label);
  if (!Number.isInteger(h) || h < 0 || h > 0xffffffff) {
    throw new RingError('INVALID_OPTION', `hasher ${describe(hasher.name)} returned ${describe(h)}; it must return an unsigned 32-bit integer`);
  }
  return h;
}

/** A batch of new points, sorted by (hash, owner id). */
export interface PointBatch {
  readonly hashes: Uint32Array;
  readonly owners: Uint32Array;
}

/**
 * Sorts the points of several nodes into one batch ordered by (hash, id).
 * `parts` holds each node's slot, id and its own sorted hashes.
 *
 * The parts are laid out in id order, then sorted by hash with a stable LSD
 * radix sort (three 11-bit passes, so small batches do not pay for large
 * count tables): linear, and stability keeps equal hashes in id order.
 */
export function sortBatch(parts: ReadonlyArray<{ slot: number; id: string; hashes: Uint32Array }>): PointBatch {
  if (parts.length === 1) {
    const only = parts[0]!;
    return { hashes: only.hashes, owners: new Uint32Array(only.hashes.length).fill(only.slot) };
  }
  const ranked = [...parts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let total = 0;
  for (const p of ranked) total += p.hashes.length;
  let hashes = new Uint32Array(total);
  let owners = new Uint32Array(total);
  let k = 0;
  for (const p of ranked) {
    hashes.set(p.hashes, k);
    owners.fill(p.slot, k, k + p.hashes.length);
    k += p.hashes.length;
  }
  if (total < 64) {
    // Small batches (a few joins or reweights): insertion sort, stable.
    for (let i = 1; i < total; i++) {
      const h = hashes[i]!;
      const o = owners[i]!;
      let j = i - 1;
      while (j >= 0 && hashes[j]! > h) {
        hashes[j + 1] = hashes[j]!;
        owners[j + 1] = owners[j]!;
        j--;
      }
      hashes[j + 1] = h;
      owners[j + 1] = o;
    }
    return { hashes, owners };
  }
  let outHashes = new Uint32Array(total);
  let outOwners = new Uint32Array(total);
  const counts = new Uint32Array(1 << 11);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < total; i++) counts[(hashes[i]! >>> shift) & 0x7ff]!++;
    let sum = 0;
    for (let d = 0; d < counts.length; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < total; i++) {
      const h = hashes[i]!;
      const at = counts[(h >>> shift) & 0x7ff]!++;
      outHashes[at] = h;
      outOwners[at] = owners[i]!;
    }
    [hashes, outHashes] = [outHashes, hashes];
    [owners, outOwners] = [outOwners, owners];
  }
  return { hashes, owners };
}

/** What to take out of a layout: whole slots, and single points of shrunk nodes. */
export interface Removal {
  /** `true` at the slots whose points all go. */
  readonly slots: ReadonlySet<number>;
  /** Per slot, the sorted hashes of the points it loses (a node whose weight went down). */
  readonly points: ReadonlyMap<number, Uint32Array>;
}

/**
 * Builds the next layout in one linear merge: old points minus `removal`,
 * plus `batch`, `size` points in all. `idOf(slot)` breaks ties between equal
 * hashes (smaller id first).
 */
export function mergeLayout(old: Layout, removal: Removal, batch: PointBatch, size: number, idOf: (slot: number) => string): Layout {
  const bh = batch.hashes;
  const bo = batch.owners;
  const op = old.pairs;
  const pairs = newPairs(size);
  // Per-slot mask, so the loop does an array read instead of Set/Map lookups: 1 = drop all, 2 = drop some.
  let maxSlot = -1;
  for (const slot of removal.slots) if (slot > maxSlot) maxSlot = slot;
  for (const slot of removal.points.keys()) if (slot > maxSlot) maxSlot = slot;
  const mask = new Uint8Array(maxSlot + 1);
  for (const slot of removal.slots) mask[slot] = 1;
  const cursors = new Map<number, number>();
  for (const slot of removal.points.keys()) {
    mask[slot] = 2;
    cursors.set(slot, 0);
  }
  const masked = maxSlot >= 0;
  const nb = bh.length;
  let n = 0;
  let j = 0;
  for (let i = 0; i < old.length; i++) {
    const h = op[2 * i]!;
    const o = op[2 * i + 1]!;
    if (masked && o <= maxSlot && mask[o] !== 0) {
      if (mask[o] === 1) continue;
      // Both sorted by hash: the next point to drop is at the cursor.
      const drop = removal.points.get(o)!;
      const c = cursors.get(o)!;
      if (c < drop.length && drop[c] === h) {
        cursors.set(o, c + 1);
        continue;
      }
    }
    while (j < nb && (bh[j]! < h || (bh[j] === h && idOf(bo[j]!) < idOf(o)))) {
      pairs[2 * n] = bh[j]!;
      pairs[2 * n++ + 1] = bo[j++]!;
    }
    pairs[2 * n] = h;
    pairs[2 * n++ + 1] = o;
  }
  while (j < nb) {
    pairs[2 * n] = bh[j]!;
    pairs[2 * n++ + 1] = bo[j++]!;
  }
  if (n !== size) throw new Error(`ringroute internal error: merged ${n} points, expected ${size}`);
  return buildIndex(pairs, size);
}

/**
 * Attaches the bucket index to `n` sorted points in `pairs` (from
 * {@link newPairs}) and writes the sentinels: ~2 to 4 points per bucket.
 */
export function buildIndex(pairs: Uint32Array, n: number, spaceBits = 32): Layout {
  for (let k = n; k < n + PAD; k++) {
    pairs[2 * k] = 0xffffffff;
    pairs[2 * k + 1] = n > 0 ? pairs[1]! : 0;
  }
  // A coordinate space smaller than 2^32 (a Maglev table) indexes its own top bits, not those of 32-bit hashes.
  const bits = Math.min(spaceBits, 24, Math.max(1, Math.floor(Math.log2(Math.max(n, 1))) - 1));
  const shift = spaceBits - bits;
  const buckets = 1 << bits;
  // Count each bucket into the next slot, then prefix-sum: no data-dependent branch.
  const index = new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) index[(pairs[2 * i]! >>> shift) + 1]!++;
  for (let b = 1; b <= buckets; b++) index[b]! += index[b - 1]!;
  return { length: n, pairs, index, shift };
}
