/**
 * The placement of HAProxy's `hash-type consistent` (`lb_chash.c`,
 * HAProxy 2.6), bit for bit. Pure.
 */
import { RingError, describe } from '../../errors.js';
import type { PointPlacement } from '../../ring/placement.js';
import type { Hasher, RingNode } from '../../ring/types.js';
import { crc32 } from '../crc32.js';
import { keyBytes } from '../key-bytes.js';
import { HAPROXY_ASCII_HASHES, HAPROXY_HASH_FUNCTIONS, fullHash, type HaproxyHashFunction } from './hashes.js';

/** Points HAProxy gives a server per unit of weight (`BE_WEIGHT_SCALE`). */
export const HAPROXY_POINTS_PER_WEIGHT = 16;
/** Point `i` of server `id` is `full_hash(id * 4096 + i)` (`SRV_EWGHT_RANGE`). */
const ID_STRIDE = 4096;
/** Largest server id: above it, `id * 4096` wraps past 2^32 onto smaller ids' points. */
export const MAX_HAPROXY_ID = 2 ** 20 - 1;
/** HAProxy's largest server weight. */
const MAX_HAPROXY_WEIGHT = 256;

/** Options of {@link haproxyPlacement}; they must match the backend's `hash-type` line. */
export interface HaproxyPlacementOptions {
  /**
   * The key hash function of `hash-type consistent <function>`.
   * @default 'sdbm'
   */
  readonly hashFunction?: HaproxyHashFunction;
  /**
   * Whether the key hash goes through `full_hash` ("avalanche"). Plain
   * `hash-type consistent` does that; `hash-type consistent sdbm` (a
   * function named, no modifier) does not.
   * @default true
   */
  readonly avalanche?: boolean;
}

/**
 * A node's HAProxy server id: `meta.haproxyId` (a decimal string in
 * [1, {@link MAX_HAPROXY_ID}]) when present, else one derived from the node
 * id (CRC32 of its UTF-8 bytes, mod the range). The rendered config always
 * sets it explicitly, so removing a server never renumbers the others.
 */
export function haproxyIdOf(node: RingNode): number {
  const given = node.meta?.haproxyId;
  if (given !== undefined) {
    if (!/^[1-9][0-9]{0,6}$/.test(given) || Number(given) > MAX_HAPROXY_ID) {
      throw new RingError('INVALID_NODE', `meta.haproxyId of node ${describe(node.id)} must be a decimal integer in [1, ${MAX_HAPROXY_ID}], got ${describe(given)}`);
    }
    return Number(given);
  }
  return (crc32(keyBytes(node.id)) % MAX_HAPROXY_ID) + 1;
}

function points(node: RingNode, from: number, to: number): Uint32Array {
  const base = haproxyIdOf(node) * ID_STRIDE;
  const out = new Uint32Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = fullHash(base + i);
  return out;
}

function check(nodes: readonly RingNode[]): void {
  const ids = new Map<number, string>();
  for (const node of nodes) {
    const weight = node.weight ?? 1;
    if (!Number.isInteger(weight) || weight > MAX_HAPROXY_WEIGHT) {
      throw new RingError('INVALID_NODE', `HAProxy weights are integers up to ${MAX_HAPROXY_WEIGHT}; node ${describe(node.id)} has weight ${describe(weight)}`);
    }
    const id = haproxyIdOf(node);
    const other = ids.get(id);
    if (other !== undefined) {
      throw new RingError('INVALID_NODE', `nodes ${describe(other)} and ${describe(node.id)} have the same HAProxy server id ${id}; set meta.haproxyId on one of them`);
    }
    ids.set(id, node.id);
  }
}

const cache = new Map<string, PointPlacement>();

/**
 * The placement that predicts HAProxy's `balance url_param <name>` with
 * `hash-type consistent` exactly, for a ring whose nodes are the backend's
 * servers:
 *
 * - a node's server id is `meta.haproxyId`, else derived from its id
 *   ({@link haproxyIdOf}); it gets `weight x 16` points at
 *   `full_hash(id x 4096 + i)`;
 * - a key hashes with the `hash-type` function over its bytes as the proxy
 *   sees them (percent-encoded), then `full_hash` when `avalanche`;
 * - it belongs to the **nearest** point: the one before it when both are
 *   as close (the ring serves this as a successor ring over midpoints).
 *
 * Weights must be integers up to 256, server ids unique.
 */
export function haproxyPlacement(options: HaproxyPlacementOptions = {}): PointPlacement {
  if (typeof options !== 'object' || options === null) {
    throw new RingError('INVALID_OPTION', `haproxyPlacement() options must be an object, got ${describe(options)}`);
  }
  const fn = options.hashFunction ?? 'sdbm';
  if (!Object.hasOwn(HAPROXY_HASH_FUNCTIONS, fn)) {
    throw new RingError('INVALID_OPTION', `hashFunction must be one of ${Object.keys(HAPROXY_HASH_FUNCTIONS).join(', ')}, got ${describe(fn)}`);
  }
  const avalanche = options.avalanche ?? true;
  if (typeof avalanche !== 'boolean') throw new RingError('INVALID_OPTION', `avalanche must be a boolean, got ${describe(avalanche)}`);
  const name = `haproxy:${fn}${avalanche ? '+avalanche' : ''}`;
  let placement = cache.get(name);
  if (placement === undefined) {
    const hash = HAPROXY_HASH_FUNCTIONS[fn];
    const ascii = HAPROXY_ASCII_HASHES[fn];
    // ASCII keys (a URL parameter as the proxy sees it) straight from the string; others from their UTF-8 bytes.
    const keyHash = (key: string): number => {
      const h = ascii(key);
      return h >= 0 ? h : hash(keyBytes(key));
    };
    const hasher: Hasher = Object.freeze({
      name,
      hash: avalanche ? (key: string): number => fullHash(keyHash(key)) : keyHash,
    });
    placement = Object.freeze({
      name,
      hasher,
      rule: 'nearest' as const,
      vnodes: HAPROXY_POINTS_PER_WEIGHT,
      pointCount: (node: RingNode): number => (node.weight ?? 1) * HAPROXY_POINTS_PER_WEIGHT,
      identity: (node: RingNode): string => String(haproxyIdOf(node)),
      points,
      check,
    });
    cache.set(name, placement);
  }
  return placement;
}
