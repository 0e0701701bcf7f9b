/**
 * The placement of Envoy's `ring_hash` load balancer. Pure.
 */
import { RingError, describe } from '../../errors.js';
import type { PlacementTable, TablePlacement } from '../../ring/table.js';
import type { RingNode } from '../../ring/types.js';
import { checkHashPolicy, envoyRequestKey, type EnvoyHashPolicy, type EnvoyRequest } from './hash-policy.js';
import { envoyHosts, hostOptionsOf, hostSuffix, type EnvoyHostOptions } from './hosts.js';
import { ringKeyHasher } from './key-hasher.js';
import { murmur2Result, murmurHash2 } from './murmur2.js';
import { xxh64, xxh64Result } from './xxh64.js';

/** Envoy's default `minimum_ring_size`. */
export const ENVOY_MIN_RING_SIZE = 1024;
/** Envoy's default `maximum_ring_size`, also the largest either may be. */
export const ENVOY_MAX_RING_SIZE = 8 * 1024 * 1024;

/** Options of {@link envoyRingHashPlacement}: the cluster's `ring_hash` config. */
export interface EnvoyRingHashOptions extends EnvoyHostOptions {
  /** `minimum_ring_size`, an integer in [1, 8388608]. @default 1024 */
  readonly minimumRingSize?: number;
  /** `maximum_ring_size`, an integer in [minimumRingSize, 8388608]. @default 8388608 */
  readonly maximumRingSize?: number;
  /**
   * `hash_function`, which hashes the ring's entries (requests are hashed by
   * the hash policy, xxHash64, either way): `'XX_HASH'` (xxHash64) or
   * `'MURMUR_HASH_2'` (the 64-bit MurmurHash2 of libstdc++'s `std::hash`,
   * seed 0xc70f6907). @default 'XX_HASH'
   */
  readonly hashFunction?: 'XX_HASH' | 'MURMUR_HASH_2';
  /** The route's `hash_policy`, for {@link EnvoyPlacement.requestKey}. @default [{ header: 'x-user-id' }] */
  readonly hashPolicy?: readonly EnvoyHashPolicy[];
}

/** A placement that predicts an Envoy load balancer, with the route's hash policy. */
export interface EnvoyPlacement extends TablePlacement {
  /** The hash policy requests are keyed by. */
  readonly hashPolicy: readonly EnvoyHashPolicy[];
  /**
   * The ring key of a request, whose owner is the host Envoy picks for it;
   * `undefined` when no policy yields a value (Envoy picks at random).
   */
  requestKey(request: EnvoyRequest): string | undefined;
}

function ringSize(value: unknown, name: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > ENVOY_MAX_RING_SIZE) {
    throw new RingError('INVALID_OPTION', `${name} must be an integer in [1, ${ENVOY_MAX_RING_SIZE}] (Envoy's limit), got ${describe(value)}`);
  }
  return v;
}

/**
 * Envoy's ring for `nodes` in the given order, exactly as `RingHashLoadBalancer::Ring`
 * builds it: weights normalized to their sum, a scale that gives the
 * least-weighted host a whole number of entries (capped at the maximum
 * size), entries handed out by running sums in host order, each at
 * xxHash64 (or MurmurHash2) of `"<hash key>_<i>"`, sorted.
 */
function buildRing(nodes: readonly RingNode[], min: number, max: number, hostOptions: EnvoyHostOptions, murmur: boolean): PlacementTable {
  const { hosts, min: minWeight } = envoyHosts(nodes, hostOptions);
  // Same double operations, in the same order, as Ring::Ring.
  const scale = Math.min(Math.ceil(minWeight * min) / minWeight, max);
  const his: number[] = [];
  const los: number[] = [];
  const owners: number[] = [];
  let current = 0.0;
  let target = 0.0;
  for (const host of hosts) {
    target += scale * host.weight;
    const prefix = `${host.key}_`;
    for (let i = 0; current < target; i++, current++) {
      if (murmur) {
        his.push(murmurHash2(prefix + i));
        los.push(murmur2Result.lo);
      } else {
        his.push(xxh64(prefix + i));
        los.push(xxh64Result.lo);
      }
      owners.push(host.index);
    }
  }
  const order = Uint32Array.from(his, (_, i) => i).sort((a, b) => his[a]! - his[b]! || los[a]! - los[b]!);
  const positions = new Uint32Array(order.length);
  const lows = new Uint32Array(order.length);
  const sortedOwners = new Uint32Array(order.length);
  order.forEach((from, to) => {
    positions[to] = his[from]!;
    lows[to] = los[from]!;
    sortedOwners[to] = owners[from]!;
    if (to > 0 && positions[to] === positions[to - 1] && lows[to] === lows[to - 1]) {
      const a = nodes[sortedOwners[to - 1]!]!;
      const b = nodes[owners[from]!]!;
      throw new RingError(
        'INVALID_NODE',
        a === b
          ? `two entries of node ${describe(a.id)} have the same 64-bit hash on Envoy's ring; give it another hash key`
          : `nodes ${describe(a.id)} and ${describe(b.id)} have ring entries with the same 64-bit hash, which Envoy orders at random; give one another hash key`,
      );
    }
  });
  return { positions, lows, owners: sortedOwners };
}

/**
 * The placement that predicts Envoy's `ring_hash` load balancer for a
 * cluster whose endpoints are the ring's nodes (one priority, no locality
 * weighting, endpoints listed in `ring.nodes()` order: sorted by id), so a
 * ring diff names exactly the sessions Envoy sends elsewhere, including
 * those a join moves between hosts that stay (each host's share of the
 * entries changes with the membership).
 *
 * - A host's hash key is {@link envoyHashKeyOf}: `meta.hashKey` (the
 *   `envoy.lb` `hash_key`), else `meta.hostname` or `meta.address`, else the id.
 * - Weights are Envoy's `load_balancing_weight`: integers >= 1.
 * - A key's hash is xxHash64 of the value Envoy hashes (see
 *   {@link EnvoyPlacement.requestKey} for requests); its owner is the host of
 *   the first entry at or after it, wrapping.
 *
 * Refused: ring sizes Envoy refuses (`minimum_ring_size (A) >
 * maximum_ring_size (B)`), weights that are not integers >= 1,
 * two hosts with one hash key, entries with equal 64-bit hashes.
 */
export function envoyRingHashPlacement(options: EnvoyRingHashOptions = {}): EnvoyPlacement {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `envoyRingHashPlacement options must be an object, got ${describe(options)}`);
  const min = ringSize(options.minimumRingSize, 'minimumRingSize', ENVOY_MIN_RING_SIZE);
  const max = ringSize(options.maximumRingSize, 'maximumRingSize', ENVOY_MAX_RING_SIZE);
  if (min > max) throw new RingError('INVALID_OPTION', `ring hash: minimum_ring_size (${min}) > maximum_ring_size (${max}), as Envoy refuses it`);
  const fn = options.hashFunction ?? 'XX_HASH';
  if (fn !== 'XX_HASH' && fn !== 'MURMUR_HASH_2') {
    throw new RingError('INVALID_OPTION', `hashFunction must be "XX_HASH" or "MURMUR_HASH_2" (Envoy's ring_hash hash_function), got ${describe(fn)}`);
  }
  const murmur = fn === 'MURMUR_HASH_2';
  const hostOptions = hostOptionsOf(options);
  const hashPolicy = checkHashPolicy(options.hashPolicy ?? [{ header: 'x-user-id' }]);
  const name = `envoy-ring-hash:min=${min}:max=${max}${murmur ? ':murmur2' : ''}${hostSuffix(hostOptions)}`;
  return Object.freeze({
    kind: 'table' as const,
    name,
    hasher: ringKeyHasher('envoy-xxh64'),
    table: (nodes: readonly RingNode[]) => buildRing(nodes, min, max, hostOptions, murmur),
    hashPolicy,
    requestKey: (request: EnvoyRequest) => envoyRequestKey(hashPolicy, request),
  });
}
