/**
 * Table placements: placements that compute where every key goes from the
 * whole membership at once, rather than from each node's own points.
 * Envoy's `ring_hash` (the number of points a host gets depends on every
 * host's weight) and Maglev (a lookup table filled by all hosts in turn) are
 * such placements.
 *
 * The ring turns a table into the same searchable layout its point
 * placements use, so lookups, exact diffs, snapshots and routers work
 * unchanged. Positions may be 64-bit (Envoy's ring): the layout then holds
 * the top 32 bits, and the few coordinates that several positions share, or
 * that a position splits, are resolved with the low 32 bits of the key's
 * hash ({@link SplitTable}).
 */
import { RingError, describe } from '../errors.js';
import { buildIndex, newPairs, type Layout } from './points.js';
import type { Hasher, RingNode } from './types.js';

/** What a {@link TablePlacement} computes for a membership. */
export interface PlacementTable {
  /**
   * The table's positions, ascending: a key whose coordinate (the placement's
   * `hasher.hash(key)`) is `x` belongs to the first position >= `x`, wrapping
   * to the first one. With `lows`, positions are 64-bit: position `i` is
   * `positions[i] * 2^32 + lows[i]`, ascending and distinct, compared with
   * the key's `hasher.hash(key) * 2^32 + hasher.low(key)`.
   */
  readonly positions: Uint32Array;
  /** Low 32 bits of each position, for 64-bit positions; absent for 32-bit ones. */
  readonly lows?: Uint32Array;
  /** `owners[i]` is the index, in the `nodes` given to `table()`, of position `i`'s node. */
  readonly owners: Uint32Array;
}

/**
 * A placement that computes a whole table from the membership: Envoy's
 * `ring_hash` and `maglev` (`ringroute/envoy`), and {@link maglevPlacement}.
 * Every change of membership rebuilds the table (linear in its size), and
 * the ring diffs the tables before and after, so diffs stay exact: they
 * include the keys a join moves between hosts that were already there,
 * which such placements do move.
 */
export interface TablePlacement {
  /** Marks a table placement. */
  readonly kind: 'table';
  /** Identifies the placement and its parameters; snapshots record it. */
  readonly name: string;
  /**
   * The hash of keys: `hash(key)` is the key's coordinate, an integer in
   * `[0, space)`; with 64-bit positions it is the top 32 bits of the key's
   * hash and `low(key)` the low 32 bits.
   */
  readonly hasher: Hasher & { low?(key: string): number };
  /**
   * Size of the coordinate space: keys' coordinates are in `[0, space)`, an
   * integer in `[1, 2^32]` (Maglev: the table size).
   * @default 2^32
   */
  readonly space?: number;
  /**
   * Computes the table for `nodes`, given sorted by id. Throws a
   * `RingError` with code `INVALID_NODE` to refuse the membership (the ring
   * stays unchanged). Must be pure: the same nodes give the same table.
   */
  table(nodes: readonly RingNode[]): PlacementTable;
}

/** Owner tokens at or above this are split coordinates, not slots. */
export const SPLIT = 0x80000000;

/**
 * The coordinates that 64-bit positions split: for split `k`, the keys of
 * that coordinate whose low 32 bits are <= `lows[start[k]]` belong to
 * `owners[start[k]]`, those <= the next low to the next owner, and those
 * above the last low to `next[k]`. Owners are slots.
 */
export interface SplitTable {
  readonly count: number;
  /** `start[k]..start[k + 1]` indexes split `k`'s lows and owners. */
  readonly start: Uint32Array;
  readonly lows: Uint32Array;
  readonly owners: Uint32Array;
  readonly next: Uint32Array;
}

export const NO_SPLITS: SplitTable = Object.freeze({
  count: 0,
  start: new Uint32Array(1),
  lows: new Uint32Array(0),
  owners: new Uint32Array(0),
  next: new Uint32Array(0),
});

/** Owner slot, in split `k`, of a key whose low 32 bits are `low`. */
export function splitOwner(splits: SplitTable, k: number, low: number): number {
  const { start, lows, owners } = splits;
  const end = start[k + 1]!;
  for (let i = start[k]!; i < end; i++) if (low <= lows[i]!) return owners[i]!;
  return splits.next[k]!;
}

/** A table turned into a layout: what the ring searches, plus the splits of 64-bit tables. */
export interface TableLayout {
  readonly layout: Layout;
  readonly splits: SplitTable;
  /**
   * For a table with a position at every coordinate of its space (Maglev):
   * the owner slot of each coordinate, read directly instead of searching
   * (16-bit when every slot fits).
   */
  readonly dense: Uint16Array | Uint32Array | undefined;
}

/**
 * Checks a placement's table for `count` nodes and `space`, and turns it
 * into a layout whose owners are `slotOf[owner]`.
 */
export function tableLayout(name: string, table: PlacementTable, slotOf: Uint32Array, space: number): TableLayout {
  const { positions, lows, owners } = checkTable(name, table, slotOf.length, space);
  const n = positions.length;
  const slots = new Uint32Array(n);
  for (let i = 0; i < n; i++) slots[i] = slotOf[owners[i]!]!;
  if (lows !== undefined) return splitLayout(positions, lows, slots);
  const plain = plainLayout(positions, slots, Math.ceil(Math.log2(space)));
  // Every coordinate a position (ascending and distinct, so positions[i] === i): index the owners directly.
  if (n !== space || n === 0) return plain;
  let max = 0;
  for (let i = 0; i < n; i++) if (slots[i]! > max) max = slots[i]!;
  return { ...plain, dense: max < 0x10000 ? Uint16Array.from(slots) : slots };
}

/** 32-bit positions: one boundary each, merged with the next when they share an owner. */
function plainLayout(positions: Uint32Array, owners: Uint32Array, spaceBits: number): TableLayout {
  const n = positions.length;
  let kept = 0;
  for (let i = 0; i < n; i++) if (i === n - 1 || owners[i] !== owners[i + 1]) kept++;
  const pairs = newPairs(kept);
  let k = 0;
  for (let i = 0; i < n; i++) {
    // Keys up to positions[i] and up to positions[i + 1] go to the same node: the later boundary covers both.
    if (i < n - 1 && owners[i] === owners[i + 1]) continue;
    pairs[2 * k] = positions[i]!;
    pairs[2 * k++ + 1] = owners[i]!;
  }
  return { layout: buildIndex(pairs, kept, Math.max(1, spaceBits)), splits: NO_SPLITS, dense: undefined };
}

/**
 * 64-bit positions. A key (H, L) belongs to the first position >= (H, L). For
 * the positions whose top bits are `c` (a group): keys with H in the gap
 * below `c` belong to the group's first position, and keys with H = c to the
 * first of the group whose low bits are >= L, else to the position after
 * the group. So each group gets a boundary at `c - 1` for the gap (when the
 * gap is not empty) and one at `c`: a plain owner when every L gives the
 * same one, else a split. A last boundary at 2^32 - 1 sends the keys above
 * every group to the first position, so the layout never wraps.
 */
function splitLayout(positions: Uint32Array, lows: Uint32Array, owners: Uint32Array): TableLayout {
  const n = positions.length;
  const bh: number[] = [];
  const bo: number[] = [];
  const start: number[] = [0];
  const sLows: number[] = [];
  const sOwners: number[] = [];
  const next: number[] = [];
  let prev = -1;
  for (let j = 0; j < n; ) {
    const c = positions[j]!;
    let k = j + 1;
    while (k < n && positions[k] === c) k++;
    const first = owners[j]!;
    const after = owners[k === n ? 0 : k]!;
    if (c > 0 && prev < c - 1) {
      bh.push(c - 1);
      bo.push(first);
    }
    let uniform = lows[k - 1] === 0xffffffff || after === first;
    for (let i = j + 1; uniform && i < k; i++) uniform = owners[i] === first;
    bh.push(c);
    if (uniform) bo.push(first);
    else {
      bo.push(SPLIT + next.length);
      for (let i = j; i < k; i++) {
        sLows.push(lows[i]!);
        sOwners.push(owners[i]!);
      }
      start.push(sLows.length);
      next.push(after);
    }
    prev = c;
    j = k;
  }
  if (prev < 0xffffffff) {
    bh.push(0xffffffff);
    bo.push(owners[0]!);
  }
  const pairs = newPairs(bh.length);
  for (let i = 0; i < bh.length; i++) {
    pairs[2 * i] = bh[i]!;
    pairs[2 * i + 1] = bo[i]!;
  }
  const splits: SplitTable =
    next.length === 0
      ? NO_SPLITS
      : { count: next.length, start: Uint32Array.from(start), lows: Uint32Array.from(sLows), owners: Uint32Array.from(sOwners), next: Uint32Array.from(next) };
  return { layout: buildIndex(pairs, bh.length), splits, dense: undefined };
}

function checkTable(name: string, table: PlacementTable, count: number, space: number): PlacementTable {
  const bad = (why: string): RingError => new RingError('INVALID_OPTION', `placement ${describe(name)} returned a bad table: ${why}`);
  if (typeof table !== 'object' || table === null) throw bad(`expected { positions, owners }, got ${describe(table)}`);
  const { positions, lows, owners } = table;
  if (!(positions instanceof Uint32Array) || !(owners instanceof Uint32Array) || owners.length !== positions.length) {
    throw bad('positions and owners must be Uint32Arrays of the same length');
  }
  if (lows !== undefined && (!(lows instanceof Uint32Array) || lows.length !== positions.length)) throw bad('lows must be a Uint32Array as long as positions');
  if (count > 0 && positions.length === 0) throw bad('no positions for a non-empty membership');
  for (let i = 0; i < positions.length; i++) {
    if (owners[i]! >= count) throw bad(`owner ${owners[i]} of position ${i} is not the index of a node`);
    if (positions[i]! >= space) throw bad(`position ${positions[i]} is outside the coordinate space [0, ${space})`);
    if (i === 0) continue;
    const up = positions[i]! > positions[i - 1]! || (lows !== undefined && positions[i] === positions[i - 1] && lows[i]! > lows[i - 1]!);
    if (!up) throw bad(`positions must be ascending and distinct; position ${i} is not above position ${i - 1}`);
  }
  return table;
}
