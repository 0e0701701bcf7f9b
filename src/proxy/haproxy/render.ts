import { RingError, describe } from '../../errors.js';
import type { HashRing } from '../../ring/hash-ring.js';
import type { RingNode } from '../../ring/types.js';
import { haproxyIdOf } from './placement.js';

/** Options of {@link renderHaproxyBackend}. */
export interface HaproxyBackendOptions {
  /** Name of the `backend` section. */
  readonly name: string;
  /** The query parameter holding the key (`balance url_param <param>`); HAProxy matches it case-sensitively. */
  readonly param: string;
  /**
   * Extra keywords for every `server` line (for example `check inter 1s`).
   * Only letters, digits, spaces and `._-:/` are accepted.
   * @default ''
   */
  readonly serverOptions?: string;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const ADDRESS = /^[A-Za-z0-9._:\-[\]]+$/;
const EXTRA = /^[A-Za-z0-9 ._:/-]*$/;

/** A node's HAProxy server name: its id when HAProxy accepts it as one, else `node-<server id>`. */
export function haproxyServerName(node: RingNode): string {
  return NAME.test(node.id) ? node.id : `node-${haproxyIdOf(node)}`;
}

/** A node's address for HAProxy: `meta.server` when present, else its id. */
export function haproxyAddressOf(node: RingNode): string {
  return node.meta?.server ?? node.id;
}

/** The `hash-type` line for a placement name made by `haproxyPlacement()`. */
function hashTypeOf(placement: string): string {
  const match = /^haproxy:(sdbm|djb2|wt6|crc32)(\+avalanche)?$/.exec(placement);
  if (match === null) throw new RingError('INVALID_OPTION', `renderHaproxyBackend() needs a ring on haproxyPlacement(), got placement ${describe(placement)}`);
  return `hash-type consistent ${match[1]}${match[2] === undefined ? '' : ' avalanche'}`;
}

/**
 * The `backend` section that makes HAProxy place keys as the ring does:
 * `balance url_param <param>`, the `hash-type` line of the ring's placement,
 * and one `server <name> <address> id <id> weight <w>` line per node, with
 * the explicit id the placement uses.
 * @throws RingError `INVALID_OPTION` for a bad option, a node address HAProxy cannot take, or a ring on another placement.
 */
export function renderHaproxyBackend(ring: HashRing, options: HaproxyBackendOptions): string {
  const hashType = hashTypeOf(ring.placement.name);
  if (!NAME.test(options?.name ?? '')) throw new RingError('INVALID_OPTION', `backend name must match ${NAME}, got ${describe(options?.name)}`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.param ?? '')) throw new RingError('INVALID_OPTION', `param must be letters, digits and ._-, got ${describe(options.param)}`);
  const extra = options.serverOptions ?? '';
  if (!EXTRA.test(extra)) throw new RingError('INVALID_OPTION', `serverOptions may hold letters, digits, spaces and ._:/- only, got ${describe(extra)}`);
  const lines = [`# Rendered by ringroute from a ring of ${ring.size} nodes; do not edit by hand.`, `backend ${options.name}`, `    balance url_param ${options.param}`, `    ${hashType}`];
  const names = new Set<string>();
  for (const node of ring.nodes()) lines.push(`    ${serverLine(node, names)}${extra === '' ? '' : ` ${extra}`}`);
  lines.push('');
  return lines.join('\n');
}

/** `server <name> <address> id <id> weight <w>`, checking the name is new and the address safe. */
export function serverLine(node: RingNode, names?: Set<string>): string {
  const name = haproxyServerName(node);
  if (names !== undefined) {
    if (names.has(name)) throw new RingError('INVALID_NODE', `two nodes get the HAProxy server name ${describe(name)}; give node ${describe(node.id)} an id HAProxy accepts as a name`);
    names.add(name);
  }
  const address = haproxyAddressOf(node);
  if (!ADDRESS.test(address)) {
    throw new RingError('INVALID_NODE', `node ${describe(node.id)} has HAProxy address ${describe(address)}; an address like "10.0.0.7:8080" is needed: set meta.server`);
  }
  return `server ${name} ${address} id ${haproxyIdOf(node)} weight ${node.weight ?? 1}`;
}
