/**
 * The placement of lua-resty-balancer's `resty.chash`, the consistent hash
 * behind ingress-nginx's `upstream-hash-by` and Apache APISIX's
 * `type: chash`. Pure.
 */
import { RingError, describe } from '../../errors.js';
import type { PointPlacement } from '../../ring/placement.js';
import type { Hasher, RingNode } from '../../ring/types.js';
import { CRC32_INIT, crc32, crc32Ascii, crc32Chain, crc32Update } from '../crc32.js';
import { keyBytes } from '../key-bytes.js';

/** Points `resty.chash` gives a server per unit of weight (its `CONSISTENT_POINTS`). */
export const RESTY_POINTS_PER_WEIGHT = 160;

/**
 * Who builds the `resty.chash` server table, which decides each server's
 * id string and weight:
 * - `'ingress-nginx'`: `upstream-hash-by`; ids `address:port` of the
 *   endpoints (`10.1.2.7:8080`, IPv6 without brackets), every weight 1;
 * - `'apisix'`: `type: chash`; ids `host:port` with every `:` replaced by a
 *   zero byte, weights divided by their greatest common divisor;
 * - `'resty'`: your own Lua code calling `resty_chash:new(servers)`; ids
 *   and integer weights as given.
 */
export type RestyServers = 'ingress-nginx' | 'apisix' | 'resty';

/** Options of {@link restyChashPlacement}. */
export interface RestyChashOptions {
  /** Whose naming and weight rules the ring's nodes follow (see {@link RestyServers}). */
  readonly servers: RestyServers;
}

const MODES: readonly RestyServers[] = ['ingress-nginx', 'apisix', 'resty'];

/**
 * The server string of a node, as the proxy writes it: `meta.server` when
 * present, else the node id (ingress-nginx: `10.0.0.7:8080`; APISIX: the
 * upstream node's `host:port`).
 */
export function restyServerOf(node: RingNode): string {
  return node.meta?.server ?? node.id;
}

/** The bytes `resty.chash` hashes for a server: its id string (APISIX: with `:` as 0). */
function idBytes(server: string, apisix: boolean): Uint8Array {
  const bytes = keyBytes(server);
  return apisix ? bytes.map((c) => (c === 0x3a ? 0 : c)) : bytes;
}

/** `resty.chash`'s key hash: CRC32 of the key string's bytes (`ngx.crc32_short`). */
const RESTY_HASHER: Hasher = Object.freeze({
  name: 'resty-crc32',
  hash: (key: string): number => {
    // ASCII keys straight from their characters (their own UTF-8), others through their bytes.
    const h = crc32Ascii(key);
    return h >= 0 ? h : crc32(keyBytes(key));
  },
});

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function makeCheck(mode: RestyServers): (nodes: readonly RingNode[]) => void {
  const apisix = mode === 'apisix';
  return (nodes) => {
    const servers = new Map<string, string>();
    const hashes = new Map<number, RingNode>();
    let divisor = 0;
    for (const node of nodes) {
      const weight = node.weight ?? 1;
      if (mode === 'ingress-nginx' && weight !== 1) {
        throw new RingError('INVALID_NODE', `ingress-nginx gives every endpoint weight 1 under upstream-hash-by; node ${describe(node.id)} has weight ${describe(weight)}`);
      }
      if (!Number.isInteger(weight)) {
        throw new RingError('INVALID_NODE', `resty.chash weights are integers; node ${describe(node.id)} has weight ${describe(weight)}`);
      }
      divisor = gcd(divisor, weight);
      const server = restyServerOf(node);
      if (server === '') throw new RingError('INVALID_NODE', `node ${describe(node.id)} has an empty server string; set meta.server`);
      if (apisix && !/:[0-9]+$/.test(server)) {
        throw new RingError('INVALID_NODE', `node ${describe(node.id)} has APISIX server ${describe(server)}: APISIX names a node "host:port" (e.g. "10.0.0.7:8080"); set meta.server`);
      }
      const other = servers.get(server);
      if (other !== undefined) {
        throw new RingError('INVALID_NODE', `nodes ${describe(other)} and ${describe(node.id)} have the same server ${describe(server)}; resty.chash would see one server`);
      }
      servers.set(server, node.id);
      // Equal CRC32s of the ids give two servers the very same points; which one
      // wins each of them depends on Lua table order, which a ring cannot know.
      const base = crc32(idBytes(server, apisix));
      const clash = hashes.get(base);
      if (clash !== undefined) {
        throw new RingError(
          'INVALID_NODE',
          `nodes ${describe(clash.id)} and ${describe(node.id)} have servers ${describe(restyServerOf(clash))} and ${describe(server)} whose ids have the same CRC32 (${base}), so resty.chash gives them the same points; rename one`,
        );
      }
      hashes.set(base, node);
    }
    if (apisix && divisor > 1) {
      const shown = nodes.slice(0, 8).map((n) => `${n.id}: ${(n.weight ?? 1) / divisor}`);
      const reduced = shown.join(', ') + (nodes.length > shown.length ? ', ...' : '');
      throw new RingError(
        'INVALID_NODE',
        `APISIX divides weights by their greatest common divisor (${divisor}) before placing points; give the ring the reduced weights (${reduced}), e.g. with reduceApisixWeights()`,
      );
    }
  };
}

function makePlacement(mode: RestyServers): PointPlacement {
  const apisix = mode === 'apisix';
  return Object.freeze({
    name: `resty-chash:${mode}`,
    hasher: RESTY_HASHER,
    rule: 'successor' as const,
    vnodes: RESTY_POINTS_PER_WEIGHT,
    pointCount: (node: RingNode): number => (node.weight ?? 1) * RESTY_POINTS_PER_WEIGHT,
    identity: restyServerOf,
    // crc32_short(id) xor 0xffffffff is the unfinished CRC state after the id's bytes.
    points: (node: RingNode, from: number, to: number): Uint32Array => crc32Chain(crc32Update(CRC32_INIT, idBytes(restyServerOf(node), apisix)), from, to),
    check: makeCheck(mode),
  });
}

const PLACEMENTS = new Map<RestyServers, PointPlacement>(MODES.map((mode) => [mode, makePlacement(mode)]));

/**
 * The placement that predicts lua-resty-balancer's `resty.chash` (as used
 * by ingress-nginx `upstream-hash-by` and APISIX `type: chash`), for a ring
 * whose nodes are the upstream's servers:
 *
 * - a node's server string is `meta.server` when present, else its id
 *   ({@link restyServerOf}); `options.servers` says whose rules turn it into
 *   `resty.chash`'s id ({@link RestyServers});
 * - it gets `weight x 160` points: CRC32 of the id's bytes followed by the
 *   previous point's 4 little-endian bytes (0 for the first), chained;
 * - a key hashes to CRC32 of its bytes (the variable's value as the proxy
 *   sees it, e.g. still percent-encoded for `$arg_user`), and belongs to the
 *   first point >= that hash, wrapping to the lowest;
 * - of equal points from two servers (rare: about 3 pairs among 1,000
 *   servers' 160,000 points) `resty.chash` picks the one its sort put first,
 *   which follows Lua table order; the ring picks the smaller node id.
 *
 * Refused with `INVALID_NODE` (ring unchanged): fractional weights, weights
 * other than 1 for ingress-nginx, APISIX weights with a common divisor
 * (use {@link reduceApisixWeights}), APISIX servers without a port, shared
 * server strings, and servers whose ids have the same CRC32.
 *
 * @example
 * ```ts
 * const ring = await HashRing.create(nodes, { placement: restyChashPlacement({ servers: 'ingress-nginx' }) });
 * ```
 */
export function restyChashPlacement(options: RestyChashOptions): PointPlacement {
  const mode = (options as Partial<RestyChashOptions> | undefined)?.servers;
  const placement = mode === undefined ? undefined : PLACEMENTS.get(mode);
  if (placement === undefined) {
    throw new RingError('INVALID_OPTION', `restyChashPlacement needs { servers: "ingress-nginx" | "apisix" | "resty" }, got ${describe(options)}`);
  }
  return placement;
}

/**
 * APISIX's weights as the ring needs them: APISIX divides every node's
 * weight by the greatest common divisor of all of them (zeros included)
 * before building `resty.chash`, and a weight-0 node gets no points. Returns
 * the nodes of positive weight with their weights so divided (`{ a: 100, b:
 * 50, c: 0 }` gives `a: 2, b: 1`). Weights must be integers >= 0 (unset is 1).
 */
export function reduceApisixWeights<T extends { readonly id?: string; readonly weight?: number }>(nodes: readonly T[]): T[] {
  let divisor = 0;
  for (const node of nodes) {
    const weight = node.weight ?? 1;
    if (!Number.isSafeInteger(weight) || weight < 0) {
      throw new RingError('INVALID_NODE', `APISIX weights are integers >= 0; node ${describe(node.id)} has weight ${describe(weight)}`);
    }
    divisor = gcd(divisor, weight);
  }
  return nodes.filter((n) => (n.weight ?? 1) > 0).map((n) => ({ ...n, weight: (n.weight ?? 1) / divisor }));
}
