/**
 * How a ring's nodes become Envoy hosts: the string Envoy hashes for each
 * host, and Envoy's rules on weights. Pure.
 */
import { RingError, describe } from '../../errors.js';
import type { RingNode } from '../../ring/types.js';

/** Options shared by the Envoy placements: how Envoy names and weighs a host. */
export interface EnvoyHostOptions {
  /**
   * Envoy's `use_hostname_for_hashing`: hash hosts by hostname
   * (`meta.hostname`) rather than by address (`meta.address`).
   * @default false
   */
  readonly useHostnameForHashing?: boolean;
  /**
   * Envoy's `locality_weighted_lb_config`: the weight of each locality, by
   * name, in the order the cluster lists its localities; a node's locality
   * is `meta.locality`. A host's share is its weight within its locality
   * times its locality's share; a locality of weight 0 gets no traffic.
   * Without it, localities are ignored (Envoy's default).
   */
  readonly localityWeights?: Readonly<Record<string, number>>;
}

/** A host as Envoy's load balancers see it, in Envoy's order. */
export interface EnvoyHost {
  /** Index of the node in the membership given. */
  readonly index: number;
  /** What Envoy hashes for it ({@link envoyHashKeyOf}). */
  readonly key: string;
  /** Its normalized weight: the hosts' weights sum to 1. */
  readonly weight: number;
}

/** Checks `localityWeights` and returns it, or undefined. */
export function checkLocalityWeights(value: unknown): Readonly<Record<string, number>> | undefined {
  if (value === undefined) return undefined;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((w) => Number.isInteger(w) && (w as number) >= 0 && (w as number) <= 0xffffffff);
  if (!ok) throw new RingError('INVALID_OPTION', `localityWeights must map locality names to integer weights >= 0, got ${describe(value)}`);
  return Object.freeze({ ...(value as Record<string, number>) });
}

/**
 * The string Envoy hashes for the host a node stands for (Envoy's
 * `hashKey()`): the endpoint's `envoy.lb` metadata `hash_key`
 * (`meta.hashKey`) when set and not empty; else, with
 * `useHostnameForHashing`, its hostname (`meta.hostname`); else its address
 * as Envoy prints it (`meta.address`: `10.0.0.7:8080`, `[fd00::7]:8080`).
 * The node id stands in for a hostname or address that `meta` does not give,
 * so a control plane that publishes `hash_key: <node id>` needs no meta at all
 * (and keeps each pod's keys when its address changes).
 */
export function envoyHashKeyOf(node: RingNode, useHostnameForHashing = false): string {
  const meta = node.meta;
  const key = meta?.hashKey;
  if (key !== undefined && key !== '') return key;
  return (useHostnameForHashing ? meta?.hostname : meta?.address) || node.id;
}

/**
 * The hosts Envoy builds its table from, in Envoy's order, with Envoy's
 * normalized weights (the same double operations in the same order as
 * `normalizeHostWeights`), and the least and greatest of them. Without
 * localities, the nodes' order; with them, locality by locality in the
 * order of `localityWeights`, skipping localities of weight 0.
 *
 * Refused (`INVALID_NODE`): a weight that is not an integer >= 1 (Envoy's
 * `load_balancing_weight`), two hosts with the same hash key (Envoy would
 * give both the same points and choose between them by memory address), a
 * node whose locality has no weight, and localities whose weights are all 0.
 */
export function envoyHosts(nodes: readonly RingNode[], options: EnvoyHostOptions): { hosts: EnvoyHost[]; min: number; max: number } {
  const useHostname = options.useHostnameForHashing === true;
  const seen = new Map<string, string>();
  const keys: string[] = [];
  for (const node of nodes) {
    const weight = node.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1) {
      throw new RingError('INVALID_NODE', `Envoy's load_balancing_weight is an integer >= 1; node ${describe(node.id)} has weight ${describe(weight)}`);
    }
    const key = envoyHashKeyOf(node, useHostname);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new RingError(
        'INVALID_NODE',
        `nodes ${describe(other)} and ${describe(node.id)} have the same Envoy hash key ${describe(key)}: Envoy would give both the same points and choose between them at random; set a distinct meta.hashKey (the envoy.lb hash_key)`,
      );
    }
    seen.set(key, node.id);
    keys.push(key);
  }
  const hosts: EnvoyHost[] = [];
  let min = 1.0;
  let max = 0.0;
  const add = (indexes: readonly number[], localityShare: number): void => {
    let sum = 0;
    for (const i of indexes) sum += nodes[i]!.weight ?? 1;
    for (const i of indexes) {
      const weight = ((nodes[i]!.weight ?? 1) * localityShare) / sum;
      hosts.push({ index: i, key: keys[i]!, weight });
      min = Math.min(min, weight);
      max = Math.max(max, weight);
    }
  };
  const localities = options.localityWeights;
  if (localities === undefined) {
    add(
      nodes.map((_, i) => i),
      1.0,
    );
    return { hosts, min, max };
  }
  const members = new Map<string, number[]>(Object.keys(localities).map((name) => [name, []]));
  nodes.forEach((node, i) => {
    const list = members.get(node.meta?.locality ?? '');
    if (list === undefined) {
      throw new RingError('INVALID_NODE', `node ${describe(node.id)} is in locality ${describe(node.meta?.locality ?? '')}, which localityWeights does not weigh; set meta.locality to one of ${describe(Object.keys(localities))}`);
    }
    list.push(i);
  });
  let total = 0;
  for (const w of Object.values(localities)) total += w;
  if (total === 0) throw new RingError('INVALID_NODE', 'every locality has weight 0: Envoy would route nowhere');
  for (const [name, indexes] of members) {
    const w = localities[name]!;
    if (w !== 0 && indexes.length > 0) add(indexes, w / total);
  }
  if (hosts.length === 0) throw new RingError('INVALID_NODE', 'no node is in a locality of weight > 0: Envoy would route nowhere');
  return { hosts, min, max };
}

/** The part of a placement's name that records its host options, so snapshots and diffs tell them apart. */
export function hostSuffix(options: EnvoyHostOptions): string {
  const hostname = options.useHostnameForHashing === true ? ':hostname' : '';
  const localities = options.localityWeights === undefined ? '' : `:localities=${JSON.stringify(options.localityWeights)}`;
  return hostname + localities;
}

/** The host options of a placement's options, checked. */
export function hostOptionsOf(options: EnvoyHostOptions): EnvoyHostOptions {
  const localityWeights = checkLocalityWeights(options.localityWeights);
  return Object.freeze({ useHostnameForHashing: options.useHostnameForHashing === true, ...(localityWeights === undefined ? {} : { localityWeights }) });
}
