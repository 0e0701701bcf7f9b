import { RingError, describe } from '../../errors.js';
import type { HashRing } from '../../ring/hash-ring.js';
import { compareIds } from '../../ring/node.js';
import { nginxServerOf } from './placement.js';

/** Options of {@link renderNginxUpstream}. */
export interface NginxUpstreamOptions {
  /** Name of the `upstream` block (what `proxy_pass http://<name>` names). */
  readonly name: string;
  /**
   * The query argument holding the key: the block hashes `$arg_<argument>`.
   * nginx matches argument names case-insensitively.
   */
  readonly argument: string;
  /**
   * Idle keep-alive connections each worker keeps to the upstream
   * (`keepalive N;`), or 0 for none. The `server` block then needs
   * `proxy_http_version 1.1;` and `proxy_set_header Connection "";`
   * (WebSocket upgrades set their own Connection header).
   * @default 0
   */
  readonly keepalive?: number;
}

const NAME = /^[A-Za-z0-9_]{1,64}$/;

/**
 * The `upstream` block that makes nginx place keys as a ring on
 * `nginxPlacement()` does: `hash $arg_<argument> consistent;` and one
 * `server <meta.server or id> weight=<w>;` line per node, in id order (the
 * order the ring breaks ties between equal points in).
 * @throws RingError `INVALID_OPTION` for a bad name or argument, or a ring on another placement; `EMPTY_RING` for an empty ring.
 */
export function renderNginxUpstream(ring: HashRing, options: NginxUpstreamOptions): string {
  if (ring.placement.name !== 'nginx') {
    throw new RingError('INVALID_OPTION', `renderNginxUpstream() needs a ring on nginxPlacement(), got placement ${describe(ring.placement.name)}`);
  }
  if (!NAME.test(options?.name ?? '')) throw new RingError('INVALID_OPTION', `upstream name must match ${NAME}, got ${describe(options?.name)}`);
  if (!NAME.test(options.argument ?? '')) throw new RingError('INVALID_OPTION', `argument must match ${NAME}, got ${describe(options.argument)}`);
  const keepalive = options.keepalive ?? 0;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 100_000) {
    throw new RingError('INVALID_OPTION', `keepalive must be an integer in [0, 100000], got ${describe(keepalive)}`);
  }
  if (ring.size === 0) throw new RingError('EMPTY_RING', 'an nginx upstream needs at least one server: the ring is empty');
  const lines = [`# Rendered by ringroute from ring of ${ring.size} nodes; do not edit by hand.`, `upstream ${options.name} {`, `    hash $arg_${options.argument} consistent;`];
  // nodes() is sorted by id already; sort again so the rule is visible here.
  for (const node of ring.nodes().sort((a, b) => compareIds(a.id, b.id))) {
    lines.push(`    server ${nginxServerOf(node)} weight=${node.weight ?? 1};  # ${JSON.stringify(node.id).replace(/[\r\n]/g, '')}`);
  }
  if (keepalive > 0) lines.push(`    keepalive ${keepalive};`);
  lines.push('}', '');
  return lines.join('\n');
}
