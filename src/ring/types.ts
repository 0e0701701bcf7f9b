import type { Placement } from './placement.js';

/**
 * A physical node of the cluster: an app server, a cache shard, a worker.
 *
 * Nodes are compared by `id` only; `weight` scales how many points the node
 * gets on the ring and `meta` carries whatever a router needs to reach it
 * (for example its URL). Both are optional.
 */
export interface RingNode {
  /** Unique, non-empty id of the node (at most {@link MAX_ID_LENGTH} characters). */
  readonly id: string;
  /**
   * Relative capacity: the node gets `round(vnodes x weight)` points (at least
   * one). Absolute, never a share of the total, so changing one node's weight
   * never moves another node's points. A number in (0, {@link MAX_WEIGHT}].
   * @default 1
   */
  readonly weight?: number;
  /** String key/value pairs carried with the node, such as `{ url: 'ws://10.0.0.7:8080' }`. */
  readonly meta?: Readonly<Record<string, string>>;
}

/**
 * A hash function from strings to unsigned 32-bit integers. Rings only agree
 * with each other when they use the same hasher, so each has a `name` that
 * snapshots record and diffs check.
 */
export interface Hasher {
  /** Identifies the function and its seed, e.g. `"xxh32"` or `"xxh32:seed=7"`. */
  readonly name: string;
  /** Hash of `key`: an integer in [0, 2^32). Must be pure and fast. */
  hash(key: string): number;
}

/** Options of a {@link HashRing}. */
export interface HashRingOptions {
  /**
   * Points per unit of weight, an integer in [1, {@link MAX_VNODES}]. More
   * points balance load better and cost memory and build time (see
   * `docs/ring.md` for the measured trade-off).
   * @default 160
   */
  readonly vnodes?: number;
  /**
   * The hash function for keys and points, under the default placement.
   * {@link HashRing.create} defaults to {@link createXxHash32}. Give either
   * this or `placement`.
   */
  readonly hasher?: Hasher;
  /**
   * How points are placed and owners found, such as `nginxPlacement()`
   * (`ringroute/nginx`) or `haproxyPlacement()` (`ringroute/haproxy`).
   * @default the default placement over `hasher`: points at `hasher("<replica>:<id>")`, owner = first point clockwise
   */
  readonly placement?: Placement;
}

/** A ring as plain JSON, as returned by `HashRing.toJSON()`. */
export interface RingSnapshot {
  /** Format version of the snapshot. */
  readonly version: 1;
  /** `Hasher.name` of the ring's hasher (its key hash). */
  readonly hasher: string;
  /** `Placement.name`, present only for rings not on the default placement (such as `"nginx"`). */
  readonly placement?: string;
  /** Points per unit of weight. */
  readonly vnodes: number;
  /** The nodes, sorted by id. */
  readonly nodes: RingNode[];
}

/**
 * An arc of the hash space whose owner changed: the key hashes in
 * `(start, end]`, wrapping past 2^32 - 1 to 0 when `end <= start`
 * (`start === end` is the whole ring). On a table placement with a smaller
 * coordinate space (Maglev: the table size), hashes are the keys'
 * coordinates and wrap past `space - 1`.
 */
export interface MovedRange {
  /** Exclusive start hash. */
  readonly start: number;
  /** Inclusive end hash. */
  readonly end: number;
  /** Owner before the change; `null` only when the ring was empty. */
  readonly from: string | null;
  /** Owner after the change; `null` only when the ring became empty. */
  readonly to: string | null;
  /**
   * Only on rings whose placement has 64-bit positions (Envoy's
   * `ring_hash`): the range is then the one coordinate `end` (the top 32
   * bits of the key's 64-bit hash), and only the keys whose low 32 bits are
   * in `[first, last]` moved. `diff.owner()` and `diff.movedKeys()` resolve
   * such keys exactly.
   */
  readonly low?: { readonly first: number; readonly last: number };
}

/**
 * What changed between two rings and which keys it moves.
 *
 * A node that holds sessions closes exactly those that
 * `diff.movedKeys(localUserIds)` returns.
 */
export interface RingDiff {
  /** Ids present after but not before, sorted. */
  readonly added: readonly string[];
  /** Ids present before but not after, sorted. */
  readonly removed: readonly string[];
  /** Ids present on both sides whose weight changed, sorted. */
  readonly reweighted: readonly string[];
  /**
   * Ids present on both sides whose meta changed (same weight), sorted. No
   * key moves for these, except under a placement whose points follow meta
   * (nginx `meta.server`, HAProxy `meta.haproxyId`): `ranges` then says which.
   */
  readonly updated: readonly string[];
  /** The arcs whose owner changed: sorted by `start`, disjoint and coalesced. */
  readonly ranges: readonly MovedRange[];
  /** Share of the hash space that changed owner, in [0, 1]. */
  readonly movedFraction: number;
  /** Where `key` moved, or `undefined` when its owner did not change. */
  owner(key: string): { from: string | null; to: string | null } | undefined;
  /** The keys among `keys` whose owner changed, in input order, with old and new owner. */
  movedKeys(keys: Iterable<string>): Array<{ key: string; from: string | null; to: string | null }>;
}
