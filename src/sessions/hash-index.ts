import type { MovedRange } from '../ring/types.js';

/** Bits of the hash that pick a bucket: 65,536 buckets, so a bucket holds ~1.5 keys at 100,000 keys. */
const BITS = 16;
const SHIFT = 32 - BITS;
const MAX_HASH = 0xffffffff;

/**
 * Local keys indexed by their ring hash, for finding the keys a ring change
 * moves without looking at the others: buckets on the top bits of the hash,
 * so the keys in an arc are the whole buckets inside it plus a filter of the
 * two at its ends. Finding the moved keys of a diff costs
 * O(moved + ranges + buckets spanned), not a hash and a search per key.
 * Adding and removing are O(1) (removal swaps with the bucket's last entry).
 */
export class HashIndex<T extends { readonly hash: number }> {
  readonly #buckets: Array<T[] | undefined> = new Array<T[] | undefined>(1 << BITS);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(entry: T): void {
    const b = entry.hash >>> SHIFT;
    const bucket = this.#buckets[b];
    if (bucket === undefined) this.#buckets[b] = [entry];
    else bucket.push(entry);
    this.#size++;
  }

  /** Removes `entry` (by identity); false when it was not indexed. */
  remove(entry: T): boolean {
    const b = entry.hash >>> SHIFT;
    const bucket = this.#buckets[b];
    if (bucket === undefined) return false;
    const i = bucket.indexOf(entry);
    if (i < 0) return false;
    const last = bucket.pop()!;
    if (i < bucket.length) bucket[i] = last;
    if (bucket.length === 0) this.#buckets[b] = undefined;
    this.#size--;
    return true;
  }

  /**
   * The entries whose hash lies in any of `ranges` (arcs `(start, end]`,
   * wrapping when `end <= start`). A range with `low` (64-bit table
   * placements) covers only part of its coordinate: of the entries at that
   * coordinate, only those `moved` accepts are taken (once, however many
   * such ranges the coordinate has); without `moved`, all of them.
   */
  inRanges(ranges: readonly MovedRange[], out: T[] = [], moved?: (entry: T) => boolean): T[] {
    const partial = new Set<number>();
    for (const r of ranges) {
      if (r.low !== undefined) {
        if (partial.has(r.end)) continue;
        partial.add(r.end);
        const from = out.length;
        this.#collect(r.end, r.end, out);
        if (moved === undefined) continue;
        let k = from;
        for (let i = from; i < out.length; i++) if (moved(out[i]!)) out[k++] = out[i]!;
        out.length = k;
      } else if (r.start < r.end) this.#collect(r.start + 1, r.end, out);
      else {
        // Wraps past 2^32 - 1 (start === end is the whole ring).
        if (r.start < MAX_HASH) this.#collect(r.start + 1, MAX_HASH, out);
        this.#collect(0, r.end, out);
      }
    }
    return out;
  }

  /** Every entry, in bucket order. */
  all(out: T[] = []): T[] {
    return this.#collect(0, MAX_HASH, out);
  }

  /** Appends the entries with lo <= hash <= hi. */
  #collect(lo: number, hi: number, out: T[]): T[] {
    const first = lo >>> SHIFT;
    const last = hi >>> SHIFT;
    for (let b = first; b <= last; b++) {
      const bucket = this.#buckets[b];
      if (bucket === undefined) continue;
      if (b !== first && b !== last) {
        for (let i = 0; i < bucket.length; i++) out.push(bucket[i]!);
        continue;
      }
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i]!;
        if (e.hash >= lo && e.hash <= hi) out.push(e);
      }
    }
    return out;
  }
}
