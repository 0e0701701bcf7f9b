import { RangeDiff, movedRanges, type DiffSide, type NodeChanges } from './diff.js';
import { RingError, describe } from '../errors.js';
import { checkHasher, createXxHash32, defaultSeedOf, xxh32Signed } from './hasher.js';
import { DEFAULT_VNODES, MAX_POINTS, MAX_VNODES } from './limits.js';
import { nearestLayout } from './nearest.js';
import { compareIds, normalizeNode, normalizeNodes, sameMeta, weightOf } from './node.js';
import { checkPlacement, hashPlacement, isHashPlacement, isTablePlacement, placedCount, placedPoints, type Placement, type PointPlacement } from './placement.js';
import { EMPTY_LAYOUT, firstAtOrAfter, mergeLayout, sortBatch, type Layout } from './points.js';
import { parseSnapshot } from './snapshot.js';
import { NO_SPLITS, SPLIT, splitOwner, tableLayout, type SplitTable, type TablePlacement } from './table.js';
import type { Hasher, HashRingOptions, RingDiff, RingNode, RingSnapshot } from './types.js';

/** A planned change of membership, checked in full before anything is touched. */
interface Plan {
  readonly changes: NodeChanges;
  /** Nodes that get a slot: new ids. */
  readonly joining: readonly RingNode[];
  /** Ids that lose their slot. */
  readonly leaving: readonly string[];
  /** Ids that stay, with their new node object (weight and/or meta changed). */
  readonly replacing: readonly RingNode[];
}

/** Keys hashed per pass of {@link HashRing.lookupMany}: the hashes stay in L1 between the two loops. */
const CHUNK = 1024;

/** A table placement's last table, with owners as slots: what `lookupN` walks and `ownership` measures. */
interface SlotTable {
  readonly positions: Uint32Array;
  readonly lows: Uint32Array | undefined;
  readonly slots: Uint32Array;
}

const SPACE = 2 ** 32;

/** Reads a ring's points and slot table, for {@link diffRings}; set in HashRing's static block. */
let sideOf: (ring: HashRing) => DiffSide;

/**
 * A consistent-hash ring with virtual nodes and weights.
 *
 * Each node gets `round(vnodes x weight)` points (at least one) at the hashes
 * of labels `"<replica>:<id>"`; a key belongs to the node of the first point
 * clockwise from the key's hash. Points live in one sorted typed array of
 * (hash, owner) pairs with a bucket index on the top bits of the hash, so
 * `lookup` is one hash and a short search without data-dependent branches. Changes merge sorted arrays in linear time and return a
 * {@link RingDiff} that says exactly which keys move.
 *
 * How points are placed and owners found is the ring's {@link Placement}:
 * the default is the one above; `nginxPlacement()` (`ringroute/nginx`) and
 * `haproxyPlacement()` (`ringroute/haproxy`) reproduce those proxies'
 * consistent hashing exactly, with the same lookups and exact diffs.
 *
 * The ring is pure: no I/O, no timers, no clock, no randomness. The same
 * nodes and options give the same owner for every key in every process,
 * whatever the order the nodes were added in.
 *
 * @example
 * ```ts
 * const ring = await HashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
 * ring.lookup('user:42');                  // { id: 'c', weight: 2 }
 * const diff = ring.add({ id: 'd' });
 * diff.movedKeys(localUserIds);            // the sessions to hand over to 'd'
 * ```
 */
export class HashRing {
  readonly #placement: Placement;
  readonly #hasher: Hasher;
  /** Seed of the default hasher, which lookups call directly (no indirect call); -1 for another hasher. */
  readonly #seed: number;
  readonly #vnodes: number;
  /** What lookups search, with the successor rule: `#points` itself, or its midpoints for a nearest-point placement. */
  #layout: Layout = EMPTY_LAYOUT;
  /** The placement's points, which changes merge into. */
  #points: Layout = EMPTY_LAYOUT;
  /** A table placement's split coordinates (64-bit positions); empty otherwise. */
  #splits: SplitTable = NO_SPLITS;
  /** A table placement with a position at every coordinate (Maglev): each coordinate's owner slot. */
  #dense: Uint16Array | Uint32Array | undefined;
  /** A table placement's table; undefined for point placements and empty rings. */
  #table: SlotTable | undefined;
  /** Size of the key coordinate space: 2^32, or a table placement's `space`. */
  readonly #space: number;
  /** Node of each owner slot; replaced (never mutated) on change so diffs and clones can keep the old one. */
  #slots: ReadonlyArray<RingNode | undefined> = [];
  #byId = new Map<string, number>();
  #sorted: readonly RingNode[] | undefined = [];
  /** Scratch for lookupN: `#seen[slot] === #stamp` marks a slot already taken. */
  #seen = new Uint32Array(0);
  #stamp = 0;
  /** Scratch for lookupMany's hashes; taken (set to null) while in use, so a re-entrant call gets its own. */
  #hashes: Uint32Array | null = null;

  /**
   * Builds a ring with the default xxHash32 hasher unless a hasher or a placement is given.
   * @param nodes - initial members; ids must be unique.
   * @param options - `vnodes` (default 160, or the placement's), and either
   *   `hasher` (default {@link createXxHash32}) or `placement` (such as
   *   `nginxPlacement()` from `ringroute/nginx`).
   */
  static async create(nodes?: Iterable<RingNode>, options?: { vnodes?: number; hasher?: Hasher; placement?: Placement }): Promise<HashRing> {
    const opts: { vnodes?: number; hasher?: Hasher; placement?: Placement } = {};
    if (options?.placement !== undefined) opts.placement = options.placement;
    else opts.hasher = options?.hasher ?? (await createXxHash32());
    if (options?.hasher !== undefined) opts.hasher = options.hasher;
    if (options?.vnodes !== undefined) opts.vnodes = options.vnodes;
    return new HashRing(opts, nodes);
  }

  /**
   * Builds a ring synchronously with an explicit hasher or placement (see
   * {@link HashRing.create} for the async form with the default one).
   */
  constructor(options: HashRingOptions, nodes?: Iterable<RingNode>) {
    if (typeof options !== 'object' || options === null) {
      throw new RingError('INVALID_OPTION', `options must be an object with a hasher or a placement, got ${describe(options)}`);
    }
    if (options.placement !== undefined) {
      if (options.hasher !== undefined) {
        throw new RingError('INVALID_OPTION', 'give a hasher or a placement, not both: a placement brings its own hasher');
      }
      this.#placement = checkPlacement(options.placement);
      this.#hasher = checkHasher(this.#placement.hasher);
    } else {
      this.#hasher = checkHasher(options.hasher);
      this.#placement = hashPlacement(this.#hasher);
    }
    this.#seed = defaultSeedOf(this.#hasher);
    this.#space = isTablePlacement(this.#placement) ? (this.#placement.space ?? SPACE) : SPACE;
    // A table placement has no points per weight: its vnodes is 1, as snapshots record it.
    const fixed = isTablePlacement(this.#placement) ? 1 : this.#placement.vnodes;
    if (isTablePlacement(this.#placement) && options.vnodes !== undefined && options.vnodes !== 1) {
      throw new RingError('INVALID_OPTION', `placement ${describe(this.#placement.name)} computes a table from the whole membership and has no points per weight; leave vnodes unset (it is 1), got ${describe(options.vnodes)}`);
    }
    if (fixed !== undefined && options.vnodes !== undefined && options.vnodes !== fixed) {
      throw new RingError('INVALID_OPTION', `placement ${describe(this.#placement.name)} puts ${fixed} points per unit of weight; vnodes ${describe(options.vnodes)} cannot apply`);
    }
    const vnodes: unknown = options.vnodes === undefined ? (fixed ?? DEFAULT_VNODES) : options.vnodes;
    if (typeof vnodes !== 'number' || !Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES) {
      throw new RingError('INVALID_OPTION', `vnodes must be an integer in [1, ${MAX_VNODES}], got ${describe(vnodes)}`);
    }
    this.#vnodes = vnodes;
    // The first build needs no diff: its ranges would be one per point, for nobody.
    if (nodes !== undefined) this.#apply(this.#planMembers(nodes), false);
  }

  /**
   * Rebuilds a ring from {@link HashRing.toJSON} output, validating every
   * field. A ring with another placement than the default needs that
   * placement passed in (its name must match the snapshot's); a ring with
   * a custom hasher needs that hasher.
   */
  static async fromJSON(snapshot: unknown, using?: Hasher | Placement): Promise<HashRing> {
    const parsed = await parseSnapshot(snapshot, using);
    return new HashRing({ vnodes: parsed.vnodes, placement: parsed.placement }, parsed.nodes);
  }

  /** Number of physical nodes. */
  get size(): number {
    return this.#byId.size;
  }

  /** Points per unit of weight (1 for a table placement, which has none). */
  get vnodes(): number {
    return this.#vnodes;
  }

  /** The hash function for keys (and, with the default placement, for points). */
  get hasher(): Hasher {
    return this.#hasher;
  }

  /** How points are placed and owners found: the default one over {@link HashRing.hasher}, or the one given. */
  get placement(): Placement {
    return this.#placement;
  }

  /**
   * Number of points (virtual nodes) on the ring, all nodes together; for a
   * table placement, the boundaries the ring searches (table entries, with
   * neighbours of one owner merged).
   */
  get points(): number {
    return this.#layout.length;
  }

  /** Bytes held by the point arrays and their index (excluding the node objects). */
  get byteLength(): number {
    const l = this.#layout;
    return l.pairs.byteLength + l.index.byteLength + (this.#dense?.byteLength ?? 0);
  }

  /** The nodes, sorted by id. A new array each call; the node objects are frozen. */
  nodes(): RingNode[] {
    this.#sorted ??= [...this.#byId.keys()].sort(compareIds).map((id) => this.#slots[this.#byId.get(id)!]!);
    return this.#sorted.slice();
  }

  /** Whether a node with this id is on the ring. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The node with this id, or `undefined`. */
  get(id: string): RingNode | undefined {
    const slot = this.#byId.get(id);
    return slot === undefined ? undefined : this.#slots[slot];
  }

  /**
   * The node that owns `key`.
   * @throws RingError `EMPTY_RING` when the ring has no nodes; `INVALID_OPTION` when `key` is not a string.
   */
  lookup(key: string): RingNode {
    const { pairs, index, shift, length } = this.#layout;
    if (length === 0) throw emptyRing();
    if (typeof key !== 'string') throw badKey(key);
    const seed = this.#seed;
    // The owner sits next to the point; past the last point, the sentinel holds point 0's owner.
    if (seed >= 0) return this.#slots[pairs[firstAtOrAfter(pairs, index, shift, xxh32Signed(key, seed) >>> 0) + 1]!]!;
    const h = this.#customHash(key);
    const dense = this.#dense;
    if (dense !== undefined && h < dense.length) return this.#slots[dense[h]!]!;
    const owner = pairs[firstAtOrAfter(pairs, index, shift, h) + 1]!;
    return this.#slots[owner < SPLIT ? owner : this.#splitOwner(key, owner)]!;
  }

  /** Owner slot of `key` at a split coordinate (64-bit table positions): decided by the low bits of its hash. */
  #splitOwner(key: string, token: number): number {
    return splitOwner(this.#splits, token - SPLIT, this.#low(key));
  }

  /** The low 32 bits of `key`'s 64-bit hash. */
  #low(key: string): number {
    const low = (this.#hasher as { low?(key: string): number }).low;
    if (low === undefined) throw new Error('ringroute internal error: a 64-bit table without a low hash');
    return low.call(this.#hasher, key);
  }

  /** The hash of `key` by a hasher other than the default; above 2^32 - 1 (a bad hasher), 0: past every point, as before. */
  #customHash(key: string): number {
    const h = this.#hasher.hash(key);
    return h > 0xffffffff ? 0 : h;
  }

  /** Index of the first point clockwise from `key`'s hash (wrapping to 0). */
  #first(layout: Layout, key: string): number {
    const { pairs, index, shift, length } = layout;
    if (length === 0) throw emptyRing();
    if (typeof key !== 'string') throw badKey(key);
    const seed = this.#seed;
    const h = seed >= 0 ? xxh32Signed(key, seed) >>> 0 : this.#customHash(key);
    const i = firstAtOrAfter(pairs, index, shift, h) >> 1;
    return i === length ? 0 : i;
  }

  /**
   * The owner of each key, in order: `lookupMany(keys)[i]` is
   * `lookup(keys[i])`. It hashes a chunk of keys first and searches the
   * points second, so each loop stays small and the memory reads of the
   * search overlap: cheaper per key than `lookup` in a loop on large rings
   * (about 0.85x at 1,000 nodes), about the same on small ones, where a
   * lookup is almost all hash. Allocates only the result.
   *
   * Pass `out` to have the owners written there (its length becomes
   * `keys.length`) instead of into a new array: for a batch routed again and
   * again, or a large one, a fresh array costs more than the lookups (a
   * new array of 100,000 or more entries measured 25-30 ns per entry here,
   * as its memory is first touched; an array written again, 2-3 ns).
   * @param out An array to reuse for the result. @default a new array
   * @throws RingError `EMPTY_RING` when the ring has no nodes and `keys` is
   *   not empty; `INVALID_OPTION` when a key is not a string or `out` is not
   *   an array (nothing is returned then, and `out` is left as it was).
   */
  lookupMany(keys: ArrayLike<string>, out?: RingNode[]): RingNode[] {
    if (typeof keys !== 'object' || keys === null || typeof keys.length !== 'number') {
      throw new RingError('INVALID_OPTION', `lookupMany() takes an array of keys, got ${describe(keys)}`);
    }
    if (out !== undefined && !Array.isArray(out)) throw new RingError('INVALID_OPTION', `lookupMany()'s out must be an array, got ${describe(out)}`);
    const count = keys.length;
    if (count > 0 && this.#layout.length === 0) throw emptyRing();
    if (out === undefined) out = new Array<RingNode>(count);
    else {
      // Checked before the first write, so a bad key leaves the caller's array as it was.
      for (let k = 0; k < count; k++) if (typeof keys[k] !== 'string') throw badKey(keys[k]);
      out.length = count;
    }
    if (count === 0) return out;
    const { pairs, index, shift } = this.#layout;
    const slots = this.#slots;
    const seed = this.#seed;
    const scratch = this.#hashes ?? new Uint32Array(CHUNK);
    this.#hashes = null;
    try {
      for (let from = 0; from < count; from += CHUNK) {
        const to = Math.min(count, from + CHUNK);
        for (let k = from; k < to; k++) {
          const key = keys[k];
          if (typeof key !== 'string') throw badKey(key);
          scratch[k - from] = seed >= 0 ? xxh32Signed(key, seed) >>> 0 : this.#customHash(key);
        }
        const dense = this.#dense;
        if (dense !== undefined) {
          for (let k = from; k < to; k++) {
            const h = scratch[k - from]!;
            out[k] = slots[h < dense.length ? dense[h]! : pairs[firstAtOrAfter(pairs, index, shift, h) + 1]!]!;
          }
        } else if (this.#splits.count === 0) {
          for (let k = from; k < to; k++) out[k] = slots[pairs[firstAtOrAfter(pairs, index, shift, scratch[k - from]!) + 1]!]!;
        } else {
          for (let k = from; k < to; k++) {
            const owner = pairs[firstAtOrAfter(pairs, index, shift, scratch[k - from]!) + 1]!;
            out[k] = slots[owner < SPLIT ? owner : this.#splitOwner(keys[k]!, owner)]!;
          }
        }
      }
    } finally {
      this.#hashes = scratch;
    }
    return out;
  }

  /**
   * The first `min(n, size)` distinct nodes clockwise from `key`: the owner
   * first (`[0]` is `lookup(key)`), then the replicas a key would fail over to.
   * @throws RingError `INVALID_OPTION` when `n` is not an integer >= 1; `EMPTY_RING` on an empty ring.
   */
  lookupN(key: string, n: number): RingNode[] {
    if (!Number.isInteger(n) || n < 1) {
      throw new RingError('INVALID_OPTION', `lookupN needs an integer n >= 1, got ${describe(n)}`);
    }
    if (this.#table !== undefined) return this.#tableWalk(this.#table, key, Math.min(n, this.#byId.size));
    const layout = this.#layout;
    let i = this.#first(layout, key);
    const pairs = layout.pairs;
    const total = layout.length;
    const slots = this.#slots;
    const want = Math.min(n, this.#byId.size);
    if (want === 1) return [slots[pairs[2 * i + 1]!]!];
    if (this.#seen.length < slots.length) this.#seen = new Uint32Array(slots.length);
    if (++this.#stamp === 0xffffffff) {
      this.#seen.fill(0);
      this.#stamp = 1;
    }
    const seen = this.#seen;
    const stamp = this.#stamp;
    const out: RingNode[] = [];
    for (let k = 0; k < total && out.length < want; k++) {
      const slot = pairs[2 * i + 1]!;
      if (seen[slot] !== stamp) {
        seen[slot] = stamp;
        out.push(slots[slot]!);
      }
      if (++i === total) i = 0;
    }
    return out;
  }

  /**
   * The first `want` distinct nodes along a table placement's table from
   * `key`'s position: the owner, then the nodes of the next positions.
   */
  #tableWalk(table: SlotTable, key: string, want: number): RingNode[] {
    if (typeof key !== 'string') throw badKey(key);
    const { positions, lows, slots: owners } = table;
    const total = positions.length;
    const h = this.#customHash(key);
    // First position >= h; with 64-bit positions, then past those of h's coordinate below the key's low bits.
    let lo = 0;
    let hi = total;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    if (lows !== undefined && lo < total && positions[lo] === h) {
      const low = this.#low(key);
      while (lo < total && positions[lo] === h && lows[lo]! < low) lo++;
    }
    let i = lo === total ? 0 : lo;
    const out: RingNode[] = [];
    const taken = new Set<number>();
    for (let k = 0; k < total && out.length < want; k++) {
      const slot = owners[i]!;
      if (!taken.has(slot)) {
        taken.add(slot);
        out.push(this.#slots[slot]!);
      }
      if (++i === total) i = 0;
    }
    return out;
  }

  /**
   * Adds a node. Keys move only to the new node.
   * @throws RingError `DUPLICATE_NODE` when the id is already on the ring; `INVALID_NODE` for a bad node.
   */
  add(node: RingNode): RingDiff {
    const n = normalizeNode(node);
    if (this.#byId.has(n.id)) {
      throw new RingError('DUPLICATE_NODE', `node ${describe(n.id)} is already on the ring; use setNodes() to change it`);
    }
    return this.#apply({ changes: { added: [n.id], removed: [], reweighted: [], updated: [] }, joining: [n], leaving: [], replacing: [] }, true);
  }

  /**
   * Removes a node. Exactly its keys move, each to the next node clockwise.
   * @throws RingError `UNKNOWN_NODE` when no node has this id; `INVALID_NODE` when `id` is not a non-empty string.
   */
  remove(id: string): RingDiff {
    if (typeof id !== 'string' || id === '') {
      throw new RingError('INVALID_NODE', `remove() needs a non-empty string id, got ${describe(id)}`);
    }
    if (!this.#byId.has(id)) throw new RingError('UNKNOWN_NODE', `node ${describe(id)} is not on the ring`);
    return this.#apply({ changes: { added: [], removed: [id], reweighted: [], updated: [] }, joining: [], leaving: [id], replacing: [] }, true);
  }

  /**
   * Replaces the membership in one step: ids not listed leave, new ids join,
   * changed weights move keys only to or from their node, changed meta moves
   * nothing. Returns one diff for the whole change.
   * @throws RingError `INVALID_NODE` or `DUPLICATE_NODE` for a bad list; the ring is then unchanged.
   */
  setNodes(nodes: Iterable<RingNode>): RingDiff {
    return this.#apply(this.#planMembers(nodes), true);
  }

  /** Plans the change from the current members to `nodes`. */
  #planMembers(nodes: Iterable<RingNode>): Plan {
    const next = normalizeNodes(nodes);
    const nextIds = new Set<string>();
    const added: string[] = [];
    const reweighted: string[] = [];
    const updated: string[] = [];
    const joining: RingNode[] = [];
    const replacing: RingNode[] = [];
    for (const n of next) {
      nextIds.add(n.id);
      const slot = this.#byId.get(n.id);
      if (slot === undefined) {
        added.push(n.id);
        joining.push(n);
        continue;
      }
      const old = this.#slots[slot]!;
      if (weightOf(old) !== weightOf(n)) reweighted.push(n.id);
      else if (!sameMeta(old, n)) updated.push(n.id);
      else if (old.weight === n.weight) continue;
      replacing.push(n);
    }
    const removed = [...this.#byId.keys()].filter((id) => !nextIds.has(id)).sort(compareIds);
    return { changes: { added, removed, reweighted, updated }, joining, leaving: removed, replacing };
  }

  /** An independent copy. Cheap: the point arrays are shared until either ring changes. */
  clone(): HashRing {
    const copy = new HashRing({ vnodes: this.#vnodes, placement: this.#placement });
    copy.#layout = this.#layout;
    copy.#points = this.#points;
    copy.#splits = this.#splits;
    copy.#dense = this.#dense;
    copy.#table = this.#table;
    copy.#slots = this.#slots;
    copy.#byId = new Map(this.#byId);
    copy.#sorted = this.#sorted;
    return copy;
  }

  /** The share of the hash space each node owns, by id (sums to 1 unless the ring is empty). */
  ownership(): Map<string, number> {
    if (this.#table !== undefined) return this.#tableOwnership(this.#table);
    const { pairs, length: n } = this.#layout;
    const shares = new Float64Array(this.#slots.length);
    for (let i = 0; i < n; i++) {
      const arc = i === 0 ? pairs[0]! + 2 ** 32 - pairs[2 * n - 2]! : pairs[2 * i]! - pairs[2 * i - 2]!;
      shares[pairs[2 * i + 1]!]! += arc;
    }
    const out = new Map<string, number>();
    for (const node of this.nodes()) out.set(node.id, shares[this.#byId.get(node.id)!]! / 2 ** 32);
    return out;
  }

  /** {@link HashRing.ownership} of a table placement: each position owns the coordinates since the previous one. */
  #tableOwnership(table: SlotTable): Map<string, number> {
    const { positions, lows, slots } = table;
    const n = positions.length;
    const shares = new Float64Array(this.#slots.length);
    // 64-bit positions: arcs in units of 2^-32 of a coordinate, as doubles (exact to about 2^-53 of the space).
    const at = (i: number): number => positions[i]! + (lows === undefined ? 0 : lows[i]! / SPACE);
    for (let i = 0; i < n; i++) shares[slots[i]!]! += i === 0 ? at(0) + this.#space - at(n - 1) : at(i) - at(i - 1);
    const out = new Map<string, number>();
    for (const node of this.nodes()) out.set(node.id, shares[this.#byId.get(node.id)!]! / this.#space);
    return out;
  }

  /**
   * The key space as owner arcs, for drawing: a flat array of
   * `[start, end, node]` triples, where `start` and `end` are fractions of
   * the key space in [0, 1] and `node` indexes {@link HashRing.nodes}; arcs
   * of one owner that touch are merged. Exact for every placement, except
   * that a coordinate split by 64-bit positions (a 2^-32 sliver) is drawn
   * as its first position's node.
   */
  arcs(): number[] {
    const { pairs, length: n } = this.#layout;
    if (n === 0) return [];
    const splits = this.#splits;
    const index = new Map<string, number>(this.nodes().map((node, i) => [node.id, i]));
    const ownerAt = (k: number): number => {
      const token = pairs[2 * k + 1]!;
      const slot = token < SPLIT ? token : splits.owners[splits.start[token - SPLIT]!]!;
      return index.get(this.#slots[slot]!.id)!;
    };
    const space = this.#space;
    const out: number[] = [];
    const push = (start: number, end: number, owner: number): void => {
      if (end <= start) return;
      const last = out.length - 3;
      if (last >= 0 && out[last + 2] === owner && out[last + 1] === start) out[last + 1] = end;
      else out.push(start, end, owner);
    };
    // A boundary owns the coordinates up to itself: arcs are (previous, boundary]; the first also
    // owns [0, first] and (last, end of space).
    let prev = 0;
    for (let k = 0; k < n; k++) {
      const end = Math.min(1, pairs[2 * k]! / space);
      push(prev, end, ownerAt(k));
      prev = end;
    }
    push(prev, 1, ownerAt(0));
    return out;
  }

  /** The ring as plain JSON; {@link HashRing.fromJSON} rebuilds it. */
  toJSON(): RingSnapshot {
    const snapshot: RingSnapshot = { version: 1, hasher: this.#hasher.name, vnodes: this.#vnodes, nodes: this.nodes() };
    // Rings on the default placement keep the snapshot format they always had.
    return isHashPlacement(this.#placement) ? snapshot : { ...snapshot, placement: this.#placement.name };
  }

  static {
    sideOf = (ring) => ({ layout: ring.#layout, nodes: ring.#slots, splits: ring.#splits, space: ring.#space });
  }

  /**
   * Carries out a plan: computes every new point first (anything that throws
   * does so before the ring is touched), merges, then swaps state in.
   * Returns the diff (an empty one when `withDiff` is false).
   */
  #apply(plan: Plan, withDiff: boolean): RingDiff {
    if (isTablePlacement(this.#placement)) return this.#applyTable(this.#placement, plan, withDiff);
    const vnodes = this.#vnodes;
    const placement: PointPlacement = this.#placement;
    const count = (node: RingNode): number => placedCount(placement, node, vnodes);
    const slots = this.#slots.slice();
    const byId = new Map(this.#byId);
    const free = freeSlots(slots);

    // Count first, hash later: a change that would exceed MAX_POINTS fails before any work.
    let size = this.#points.length;
    for (const id of plan.leaving) size -= count(slots[byId.get(id)!]!);
    for (const node of plan.replacing) size += count(node) - count(slots[byId.get(node.id)!]!);
    for (const node of plan.joining) size += count(node);
    if (size > MAX_POINTS) {
      throw new RingError('INVALID_NODE', `the change would put ${size} points on the ring; the limit is ${MAX_POINTS}: lower vnodes or weights`);
    }

    const parts: Array<{ slot: number; id: string; hashes: Uint32Array }> = [];
    const wholeSlots = new Set<number>();
    const partial = new Map<number, Uint32Array>();
    for (const id of plan.leaving) wholeSlots.add(byId.get(id)!);
    for (const node of plan.replacing) {
      const slot = byId.get(node.id)!;
      const old = slots[slot]!;
      const before = count(old);
      const after = count(node);
      if (placement.identity(old) !== placement.identity(node)) {
        // A meta edit that moves the node's points (an nginx server string, a HAProxy id): all of them go and come back.
        wholeSlots.add(slot);
        parts.push({ slot, id: node.id, hashes: placedPoints(placement, node, 0, after) });
      } else if (after > before) parts.push({ slot, id: node.id, hashes: placedPoints(placement, node, before, after) });
      else if (after < before) partial.set(slot, placedPoints(placement, old, after, before));
      slots[slot] = node;
    }
    for (const node of plan.joining) {
      const hashes = placedPoints(placement, node, 0, count(node));
      // New slots never reuse one freed by this same change, so the old table stays valid for the diff.
      const slot = free.pop() ?? slots.length;
      slots[slot] = node;
      byId.set(node.id, slot);
      parts.push({ slot, id: node.id, hashes });
    }
    for (const id of plan.leaving) {
      slots[byId.get(id)!] = undefined;
      byId.delete(id);
    }

    if (placement.check !== undefined) placement.check(slots.filter((node) => node !== undefined));

    const movesPoints = parts.length > 0 || wholeSlots.size > 0 || partial.size > 0;
    const points = movesPoints
      ? mergeLayout(this.#points, { slots: wholeSlots, points: partial }, sortBatch(parts), size, (slot) => slots[slot]!.id)
      : this.#points;
    const layout = !movesPoints ? this.#layout : placement.rule === 'nearest' ? nearestLayout(points) : points;
    const ranges = movesPoints && withDiff ? movedRanges({ layout: this.#layout, nodes: this.#slots }, { layout, nodes: slots }) : [];
    const diff = new RangeDiff(plan.changes, ranges, this.#hasher, SPACE);

    this.#points = points;
    this.#layout = layout;
    this.#slots = slots;
    this.#byId = byId;
    if (plan.joining.length > 0 || plan.leaving.length > 0 || plan.replacing.length > 0) this.#sorted = undefined;
    return diff;
  }

  /**
   * {@link HashRing.#apply} for a table placement: the new membership's
   * table is computed whole (anything that throws does so before the ring
   * is touched), and the diff compares the tables before and after.
   */
  #applyTable(placement: TablePlacement, plan: Plan, withDiff: boolean): RingDiff {
    const slots = this.#slots.slice();
    const byId = new Map(this.#byId);
    const free = freeSlots(slots);
    for (const node of plan.replacing) slots[byId.get(node.id)!] = node;
    for (const node of plan.joining) {
      // New slots never reuse one freed by this same change, so the old slots stay valid for the diff.
      const slot = free.pop() ?? slots.length;
      slots[slot] = node;
      byId.set(node.id, slot);
    }
    for (const id of plan.leaving) {
      slots[byId.get(id)!] = undefined;
      byId.delete(id);
    }
    const ids = [...byId.keys()].sort(compareIds);
    let layout = EMPTY_LAYOUT;
    let splits = NO_SPLITS;
    let dense: Uint16Array | Uint32Array | undefined;
    let table: SlotTable | undefined;
    if (ids.length > 0) {
      const made = placement.table(ids.map((id) => slots[byId.get(id)!]!));
      const size = (made as { positions?: { length?: unknown } } | null)?.positions?.length;
      if (typeof size === 'number' && size > MAX_POINTS) {
        throw new RingError('INVALID_NODE', `placement ${describe(placement.name)} made a table of ${size} positions; the limit is ${MAX_POINTS}`);
      }
      if ((made as { lows?: unknown }).lows !== undefined && typeof (placement.hasher as { low?: unknown }).low !== 'function') {
        throw new RingError('INVALID_OPTION', `placement ${describe(placement.name)} returned 64-bit positions (lows) but its hasher has no low(key) for the low 32 bits of a key's hash`);
      }
      const slotOf = Uint32Array.from(ids, (id) => byId.get(id)!);
      ({ layout, splits, dense } = tableLayout(placement.name, made, slotOf, this.#space));
      table = { positions: made.positions, lows: made.lows, slots: made.owners.map((o) => slotOf[o]!) };
    }
    const ranges = withDiff ? movedRanges({ layout: this.#layout, nodes: this.#slots, splits: this.#splits, space: this.#space }, { layout, nodes: slots, splits, space: this.#space }) : [];
    const diff = new RangeDiff(plan.changes, ranges, this.#hasher, this.#space);
    this.#points = layout;
    this.#layout = layout;
    this.#splits = splits;
    this.#dense = dense;
    this.#table = table;
    this.#slots = slots;
    this.#byId = byId;
    if (plan.joining.length > 0 || plan.leaving.length > 0 || plan.replacing.length > 0) this.#sorted = undefined;
    return diff;
  }
}

/** How a placement finds owners, for telling placements apart. */
function ruleOf(placement: Placement): string {
  return isTablePlacement(placement) ? 'table' : placement.rule;
}

function emptyRing(): RingError {
  return new RingError('EMPTY_RING', 'the ring has no nodes: add a node before looking up keys');
}

/** The unused slots of `slots`, lowest last: `pop()` hands out the lowest first. */
function freeSlots(slots: ReadonlyArray<RingNode | undefined>): number[] {
  const free: number[] = [];
  for (let s = slots.length - 1; s >= 0; s--) if (slots[s] === undefined) free.push(s);
  return free;
}

function badKey(key: unknown): RingError {
  return new RingError('INVALID_OPTION', `keys must be strings, got ${describe(key)}`);
}

/**
 * What changed between two rings and which keys move, for any two rings with
 * the same hasher (different vnodes are fine). Linear in their point counts.
 * @throws RingError `HASHER_MISMATCH` when the rings hash differently.
 */
export function diffRings(before: HashRing, after: HashRing): RingDiff {
  if (!(before instanceof HashRing) || !(after instanceof HashRing)) {
    throw new RingError('INVALID_OPTION', 'diffRings() takes two HashRing instances');
  }
  if (before.hasher.name !== after.hasher.name) {
    throw new RingError('HASHER_MISMATCH', `cannot compare a ring hashed with ${describe(before.hasher.name)} to one hashed with ${describe(after.hasher.name)}`);
  }
  if (before.placement.name !== after.placement.name || ruleOf(before.placement) !== ruleOf(after.placement)) {
    throw new RingError('HASHER_MISMATCH', `cannot compare a ring placed by ${describe(before.placement.name)} to one placed by ${describe(after.placement.name)}`);
  }
  const added: string[] = [];
  const removed: string[] = [];
  const reweighted: string[] = [];
  const updated: string[] = [];
  for (const n of after.nodes()) {
    const old = before.get(n.id);
    if (old === undefined) added.push(n.id);
    else if (weightOf(old) !== weightOf(n)) reweighted.push(n.id);
    else if (!sameMeta(old, n)) updated.push(n.id);
  }
  for (const n of before.nodes()) if (!after.has(n.id)) removed.push(n.id);
  const a = sideOf(before);
  const b = sideOf(after);
  if (a.space !== b.space) {
    throw new RingError('HASHER_MISMATCH', `cannot compare rings whose key coordinates span ${a.space} and ${b.space}`);
  }
  const ranges = movedRanges(a, b);
  return new RangeDiff({ added, removed, reweighted, updated }, ranges, after.hasher, b.space);
}
