/**
 * ringroute's own Maglev placement: balance first. Pure.
 */
import { RingError, describe } from '../errors.js';
import { checkHasher } from './hasher.js';
import { MAX_POINTS } from './limits.js';
import { fillMaglev, isPrime, modulo } from './maglev-table.js';
import { weightOf } from './node.js';
import type { PlacementTable, TablePlacement } from './table.js';
import type { Hasher, RingNode } from './types.js';

/** Options of {@link maglevPlacement}. */
export interface MaglevOptions {
  /** Hashes keys and node ids, such as `await createXxHash32()`. */
  readonly hasher: Hasher;
  /**
   * Slots of the lookup table: a prime, at least 100 times the number of
   * nodes for balance within 1% (the table is rebuilt, in time linear in
   * its size, on every change of membership).
   * @default 65537
   */
  readonly tableSize?: number;
}

/** Default Maglev table size: the smallest prime above 2^16, as in Envoy. */
export const MAGLEV_TABLE_SIZE = 65537;

/**
 * A Maglev placement (Eisenbud et al., NSDI 2016): a key belongs to the node
 * in slot `hasher.hash(key) mod tableSize` of a lookup table that the nodes
 * fill in turns, each claiming the next free slot of its own permutation of
 * the table (offset and step from the hashes of `"offset:<id>"` and
 * `"skip:<id>"`), a node of weight `w` taking `w / max` turns per round.
 *
 * For users who want balance over minimal movement: every node of equal
 * weight holds `floor(size / N)` or `ceil(size / N)` slots, so the busiest
 * of 1,000 nodes holds at most 1.01x the average share with the default
 * table (a ring with 160 points per node: about 1.2x). The price is
 * movement: a join moves more than `1 / (N + 1)` of the keys, the more so
 * the fewer slots per node (measured with the default table: 1.02x the
 * ideal at 10 nodes, 1.55x at 100, 6.7x at 1,000, most of the extra between
 * nodes that stay; a table of 655,373 slots: 4.4x at 1,000). The ring's diff
 * names every moved key (`docs/ring.md`, balance and movement).
 *
 * Weights are any accepted node weight; a table smaller than the number of
 * nodes is refused (`INVALID_NODE`).
 *
 * @example
 * ```ts
 * const placement = maglevPlacement({ hasher: await createXxHash32() });
 * const ring = new HashRing({ placement }, nodes);
 * ```
 */
export function maglevPlacement(options: MaglevOptions): TablePlacement {
  if (typeof options !== 'object' || options === null) {
    throw new RingError('INVALID_OPTION', `maglevPlacement needs { hasher, tableSize? }, got ${describe(options)}`);
  }
  const hasher = checkHasher(options.hasher);
  const size = options.tableSize ?? MAGLEV_TABLE_SIZE;
  if (!isPrime(size) || size > MAX_POINTS) {
    throw new RingError('INVALID_OPTION', `maglev tableSize must be a prime no larger than ${MAX_POINTS} (e.g. 65537, 655373), got ${describe(size)}`);
  }
  const table = (nodes: readonly RingNode[]): PlacementTable => {
    if (nodes.length > size) {
      throw new RingError('INVALID_NODE', `a Maglev table of ${size} slots cannot hold ${nodes.length} nodes; use a larger tableSize (a prime, about 100 x the nodes)`);
    }
    let max = 0;
    const entries = nodes.map((node) => {
      const weight = weightOf(node);
      if (weight > max) max = weight;
      return { offset: hasher.hash(`offset:${node.id}`) % size, skip: (hasher.hash(`skip:${node.id}`) % (size - 1)) + 1, weight };
    });
    const owners = fillMaglev(size, entries, max);
    const positions = new Uint32Array(size);
    for (let i = 0; i < size; i++) positions[i] = i;
    return { positions, owners };
  };
  return Object.freeze({
    kind: 'table' as const,
    name: `maglev:${size}:${hasher.name}`,
    hasher: Object.freeze({ name: `${hasher.name}%${size}`, hash: (key: string): number => modulo(hasher.hash(key), size) }),
    space: size,
    table,
  });
}
