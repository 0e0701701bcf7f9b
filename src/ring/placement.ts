/**
 * Placements: how a ring puts a node's points on the circle, hashes keys and
 * picks a key's owner. The default places points at the hashes of labels
 * `"<replica>:<id>"` with the ring's hasher and gives a key to the first point
 * clockwise; `ringroute/nginx` and `ringroute/haproxy` export placements that
 * reproduce those proxies' consistent hashing exactly.
 */
import { RingError, describe } from '../errors.js';
import { nodePoints, pointCount } from './points.js';
import type { TablePlacement } from './table.js';
import type { Hasher, RingNode } from './types.js';
import { weightOf } from './node.js';

/**
 * How a ring places keys: a {@link PointPlacement} (each node's own points on
 * a circle: the default, nginx, HAProxy, resty.chash) or a
 * {@link TablePlacement} (a table computed from the whole membership: Envoy's
 * `ring_hash` and `maglev`, {@link maglevPlacement}).
 */
export type Placement = PointPlacement | TablePlacement;

/**
 * The contract a placement implements. Everything must be pure and
 * deterministic: the same node gives the same points in every process.
 *
 * The ring relies on one structural rule: a node's points form a sequence
 * (point 0, 1, 2, ...) where point `i` depends only on `identity(node)` and
 * `i`, and `pointCount` grows with the weight. So a reweight adds or removes
 * the tail of the sequence and moves keys only to or from that node.
 */
export interface PointPlacement {
  /** Absent or `'points'`: marks a point placement (see {@link TablePlacement} for the other kind). */
  readonly kind?: 'points';
  /**
   * Identifies the placement and its parameters; snapshots record it and
   * diffs refuse to compare rings whose placements differ. The default
   * placement is named after its hasher (`"xxh32"`).
   */
  readonly name: string;
  /** The hash of keys (the ring calls `hasher.hash(key)` for every lookup). */
  readonly hasher: Hasher;
  /**
   * How a key's owner is found from the key's hash `h`:
   * - `'successor'`: the first point >= h, wrapping to the lowest point;
   * - `'nearest'`: the closest point either way (distance mod 2^32), the
   *   point before h when both are as close (HAProxy's rule).
   */
  readonly rule: 'successor' | 'nearest';
  /**
   * Points per unit of weight imposed by the placement (nginx: 160,
   * HAProxy: 16), or `undefined` to use the ring's `vnodes` option. A ring
   * given another `vnodes` than the one imposed throws `INVALID_OPTION`.
   */
  readonly vnodes?: number;
  /** Number of points of `node` on a ring with `vnodes` points per unit of weight (at least 1). */
  pointCount(node: RingNode, vnodes: number): number;
  /**
   * What, besides the replica number, decides a node's points: the id for
   * the default placement, the `server` string for nginx. When it changes
   * (a meta edit), the ring re-places all of the node's points.
   */
  identity(node: RingNode): string;
  /** Hashes of points `[from, to)` of `node`, in any order: a `Uint32Array` of `to - from` entries. */
  points(node: RingNode, from: number, to: number): Uint32Array;
  /**
   * Checks a whole membership before the ring adopts it (for example
   * integer weights or unique proxy ids); throws a `RingError` with code
   * `INVALID_NODE` to refuse it, leaving the ring unchanged.
   */
  check?(nodes: readonly RingNode[]): void;
}

/** Placement of each default hasher, so rings built with one hasher share one placement object. */
const cache = new WeakMap<Hasher, PointPlacement>();

/**
 * The default placement over `hasher`: point `r` of node `id` is at
 * `hasher.hash("<r>:<id>")`, a node has `round(vnodes x weight)` points, and a
 * key belongs to the first point clockwise. Named after the hasher, so
 * snapshots of such rings are the same as before placements existed.
 */
export function hashPlacement(hasher: Hasher): PointPlacement {
  let placement = cache.get(hasher);
  if (placement === undefined) {
    placement = Object.freeze({
      name: hasher.name,
      hasher,
      rule: 'successor' as const,
      pointCount: (node: RingNode, vnodes: number): number => pointCount(weightOf(node), vnodes),
      identity: (node: RingNode): string => node.id,
      points: (node: RingNode, from: number, to: number): Uint32Array => nodePoints(hasher, node.id, from, to),
    });
    cache.set(hasher, placement);
  }
  return placement;
}

/** True for placements made by {@link hashPlacement}: snapshots record only their hasher. */
export function isHashPlacement(placement: Placement): boolean {
  return cache.get(placement.hasher) === placement;
}

/** True for a {@link TablePlacement}. */
export function isTablePlacement(placement: Placement): placement is TablePlacement {
  return placement.kind === 'table';
}

/** Checks that a user-supplied placement has the documented shape. */
export function checkPlacement(placement: unknown): Placement {
  if (typeof placement === 'object' && placement !== null && (placement as { kind?: unknown }).kind === 'table') return checkTablePlacement(placement);
  const p = placement as Partial<PointPlacement> | null | undefined;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    typeof p.name === 'string' &&
    p.name !== '' &&
    typeof p.hasher === 'object' &&
    p.hasher !== null &&
    typeof p.hasher.hash === 'function' &&
    (p.rule === 'successor' || p.rule === 'nearest') &&
    typeof p.pointCount === 'function' &&
    typeof p.identity === 'function' &&
    typeof p.points === 'function' &&
    (p.check === undefined || typeof p.check === 'function') &&
    (p.vnodes === undefined || (Number.isInteger(p.vnodes) && p.vnodes > 0));
  if (!ok) {
    throw new RingError(
      'INVALID_OPTION',
      `placement must be { name, hasher, rule: "successor" | "nearest", pointCount(), identity(), points() } (see Placement), got ${describe(placement)}`,
    );
  }
  return p as PointPlacement;
}

function checkTablePlacement(placement: object): TablePlacement {
  const p = placement as Partial<TablePlacement>;
  const space = p.space;
  const ok =
    typeof p.name === 'string' &&
    p.name !== '' &&
    typeof p.hasher === 'object' &&
    p.hasher !== null &&
    typeof p.hasher.hash === 'function' &&
    (p.hasher.low === undefined || typeof p.hasher.low === 'function') &&
    typeof p.table === 'function' &&
    (space === undefined || (Number.isInteger(space) && space >= 1 && space <= 2 ** 32));
  if (!ok) {
    throw new RingError('INVALID_OPTION', `a table placement must be { kind: "table", name, hasher, table(), space? } (see TablePlacement), got ${describe(placement)}`);
  }
  return p as TablePlacement;
}

/** Points `[from, to)` of `node`, sorted, after checking what the placement returned. */
export function placedPoints(placement: PointPlacement, node: RingNode, from: number, to: number): Uint32Array {
  // The default placement's points are checked and sorted already.
  if (cache.get(placement.hasher) === placement) return placement.points(node, from, to);
  const out = placement.points(node, from, to);
  if (!(out instanceof Uint32Array) || out.length !== to - from) {
    throw new RingError('INVALID_OPTION', `placement ${describe(placement.name)} returned ${describe(out)} for points [${from}, ${to}) of node ${describe(node.id)}; it must return a Uint32Array of ${to - from} hashes`);
  }
  return out.sort();
}

/** `placement.pointCount(node, vnodes)`, checked to be a positive integer. */
export function placedCount(placement: PointPlacement, node: RingNode, vnodes: number): number {
  const n = placement.pointCount(node, vnodes);
  if (!Number.isInteger(n) || n < 1) {
    throw new RingError('INVALID_OPTION', `placement ${describe(placement.name)} gave node ${describe(node.id)} ${describe(n)} points; it must be an integer >= 1`);
  }
  return n;
}
