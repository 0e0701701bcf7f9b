/**
 * The placement of Envoy's `maglev` load balancer. Pure.
 */
import { RingError, describe } from '../../errors.js';
import { fillMaglev, isPrime } from '../../ring/maglev-table.js';
import type { PlacementTable } from '../../ring/table.js';
import type { RingNode } from '../../ring/types.js';
import { keyBytes } from '../key-bytes.js';
import { checkHashPolicy, envoyRequestKey, type EnvoyHashPolicy, type EnvoyRequest } from './hash-policy.js';
import { envoyHosts, hostOptionsOf, hostSuffix, type EnvoyHostOptions } from './hosts.js';
import { maglevKeyHasher, mod64 } from './key-hasher.js';
import type { EnvoyPlacement } from './ring-hash.js';
import { xxh64, xxh64Result } from './xxh64.js';

/** Envoy's default Maglev `table_size`. */
export const ENVOY_MAGLEV_TABLE_SIZE = 65537;
/** The largest `table_size` Envoy accepts. */
export const ENVOY_MAGLEV_MAX_TABLE_SIZE = 5000011;

/** Options of {@link envoyMaglevPlacement}: the cluster's `maglev` config. */
export interface EnvoyMaglevOptions extends EnvoyHostOptions {
  /** `table_size`: a prime no larger than 5000011. @default 65537 */
  readonly tableSize?: number;
  /** The route's `hash_policy`, for {@link EnvoyPlacement.requestKey}. @default [{ header: 'x-user-id' }] */
  readonly hashPolicy?: readonly EnvoyHashPolicy[];
}

/**
 * Envoy's Maglev table for `nodes`: hosts sorted by the bytes of their hash
 * keys, each with offset xxHash64(key) mod size and skip xxHash64(key, seed
 * 1) mod (size - 1) + 1, weights normalized to their sum, filled in turns.
 */
function buildTable(nodes: readonly RingNode[], size: number, hostOptions: EnvoyHostOptions): PlacementTable {
  const { hosts, max } = envoyHosts(nodes, hostOptions);
  const sorted = hosts.sort((a, b) => Buffer.from(keyBytes(a.key)).compare(keyBytes(b.key)));
  const entries = sorted.map((host) => {
    const offset = mod64(xxh64(host.key), xxh64Result.lo, size);
    const skip = mod64(xxh64(host.key, 0, 1), xxh64Result.lo, size - 1) + 1;
    return { offset, skip, weight: host.weight };
  });
  const slots = fillMaglev(size, entries, max);
  const positions = new Uint32Array(size);
  const owners = new Uint32Array(size);
  for (let c = 0; c < size; c++) {
    positions[c] = c;
    owners[c] = sorted[slots[c]!]!.index;
  }
  return { positions, owners };
}

/**
 * The placement that predicts Envoy's `maglev` load balancer for a cluster
 * whose endpoints are the ring's nodes (one priority, no locality
 * weighting; the endpoints' order does not matter, Envoy sorts them by hash
 * key). A key belongs to the host in slot `xxHash64(key) mod tableSize` of
 * the table. Hash keys and weights as for {@link envoyRingHashPlacement}.
 *
 * Refused: a table size that is not a prime <= 5000011 (Envoy: "The table
 * size of maglev must be prime number"), weights that are not integers >= 1,
 * two hosts with one hash key.
 */
export function envoyMaglevPlacement(options: EnvoyMaglevOptions = {}): EnvoyPlacement {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `envoyMaglevPlacement options must be an object, got ${describe(options)}`);
  const size = options.tableSize ?? ENVOY_MAGLEV_TABLE_SIZE;
  if (!isPrime(size) || size > ENVOY_MAGLEV_MAX_TABLE_SIZE) {
    throw new RingError('INVALID_OPTION', `The table size of maglev must be prime number (Envoy), at most ${ENVOY_MAGLEV_MAX_TABLE_SIZE}; got ${describe(size)}`);
  }
  const hostOptions = hostOptionsOf(options);
  const hashPolicy = checkHashPolicy(options.hashPolicy ?? [{ header: 'x-user-id' }]);
  return Object.freeze({
    kind: 'table' as const,
    name: `envoy-maglev:${size}${hostSuffix(hostOptions)}`,
    hasher: maglevKeyHasher(`envoy-xxh64%${size}`, size),
    space: size,
    table: (nodes: readonly RingNode[]) => buildTable(nodes, size, hostOptions),
    hashPolicy,
    requestKey: (request: EnvoyRequest) => envoyRequestKey(hashPolicy, request),
  });
}
