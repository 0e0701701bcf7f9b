/**
 * The placement of nginx's `hash $arg_<name> consistent;`
 * (`ngx_http_upstream_hash_module`, nginx 1.22), bit for bit. Pure.
 */
import { RingError, describe } from '../../errors.js';
import type { PointPlacement } from '../../ring/placement.js';
import type { Hasher, RingNode } from '../../ring/types.js';
import { CRC32_INIT, crc32, crc32Ascii, crc32Chain, crc32Update } from '../crc32.js';
import { keyBytes } from '../key-bytes.js';

/** Points nginx gives a server per unit of weight. */
export const NGINX_POINTS_PER_WEIGHT = 160;

/** The nginx `server` string of a node: `meta.server` when present, else its id. */
export function nginxServerOf(node: RingNode): string {
  return node.meta?.server ?? node.id;
}

/**
 * Characters a server string may hold: what an address (`10.0.0.7:8080`,
 * `[::1]:8080`, `app-1.internal:80`, `unix:/run/app.sock`) needs, and
 * nothing that could end the directive or open another in a rendered config.
 */
const SERVER = /^[A-Za-z0-9._:\-[\]/@%]+$/;

/** The CRC32 state nginx starts a server's points from: host, a zero byte, port. */
function baseState(server: string): number {
  const bytes = keyBytes(server);
  let hostEnd = bytes.length;
  let portStart = bytes.length;
  // "unix:" (any case) servers: the rest is the host and the port is empty.
  const unix = bytes.length >= 5 && server.slice(0, 5).toLowerCase() === 'unix:';
  let hostStart = 0;
  if (unix) hostStart = 5;
  else {
    // Split at the last ':' when only digits follow it.
    for (let j = bytes.length - 1; j >= 0; j--) {
      const c = bytes[j]!;
      if (c === 0x3a) {
        hostEnd = j;
        portStart = j + 1;
        break;
      }
      if (c < 0x30 || c > 0x39) break;
    }
  }
  let state = crc32Update(CRC32_INIT, bytes, hostStart, hostEnd);
  state = crc32Update(state, [0]);
  return crc32Update(state, bytes, portStart, bytes.length);
}

/**
 * nginx's key hash: CRC32 of the raw argument bytes (still percent-encoded),
 * read straight from the string when it is ASCII (as a URL's argument is),
 * else from its UTF-8 encoding.
 */
const NGINX_HASHER: Hasher = Object.freeze({
  name: 'nginx-crc32',
  hash: (key: string): number => {
    const h = crc32Ascii(key);
    return h >= 0 ? h : crc32(keyBytes(key));
  },
});

/** Points `[from, to)` of a node: CRC32 chained from its host and port. */
function points(node: RingNode, from: number, to: number): Uint32Array {
  return crc32Chain(baseState(nginxServerOf(node)), from, to);
}

function check(nodes: readonly RingNode[]): void {
  const servers = new Map<string, string>();
  for (const node of nodes) {
    const weight = node.weight ?? 1;
    if (!Number.isInteger(weight)) {
      throw new RingError('INVALID_NODE', `nginx weights are integers; node ${describe(node.id)} has weight ${describe(weight)}`);
    }
    const server = nginxServerOf(node);
    if (!SERVER.test(server)) {
      throw new RingError('INVALID_NODE', `node ${describe(node.id)} has nginx server ${describe(server)}: an address like "10.0.0.7:8080" or "unix:/path" (letters, digits and ._:-[]/@% only) is needed; set meta.server`);
    }
    const other = servers.get(server);
    if (other !== undefined) {
      throw new RingError('INVALID_NODE', `nodes ${describe(other)} and ${describe(node.id)} have the same nginx server ${describe(server)}; nginx would give them the same points`);
    }
    servers.set(server, node.id);
  }
}

const NGINX: PointPlacement = Object.freeze({
  name: 'nginx',
  hasher: NGINX_HASHER,
  rule: 'successor' as const,
  vnodes: NGINX_POINTS_PER_WEIGHT,
  pointCount: (node: RingNode): number => (node.weight ?? 1) * NGINX_POINTS_PER_WEIGHT,
  identity: nginxServerOf,
  points,
  check,
});

/**
 * The placement that predicts nginx's `hash $arg_<name> consistent;`
 * exactly, for a ring whose nodes are the upstream's servers:
 *
 * - a node's server string is `meta.server` when present, else its id,
 *   compared as written (`127.0.0.1:8081` and `localhost:8081` differ);
 * - it gets `weight x 160` points, CRC32 chained from its host and port;
 * - a key hashes to CRC32 of its bytes, as the proxy sees them in the URL
 *   (percent-encoded), and belongs to the first point >= that hash;
 * - of equal points the server written first in the config wins: render
 *   the upstream with {@link renderNginxUpstream}, which lists servers by
 *   id, the order the ring breaks ties in.
 *
 * Weights must be integers, server strings unique addresses.
 *
 * @example
 * ```ts
 * const ring = await HashRing.create(nodes, { placement: nginxPlacement() });
 * ```
 */
export function nginxPlacement(): PointPlacement {
  return NGINX;
}
