import type { RingNode } from './types.js';

/** Anything that can name the owner of a key: a {@link HashRing} or a {@link RingRouter}. */
export interface OwnerLookup {
  lookup(key: string): RingNode;
}

/**
 * Splits keys by owner, for fan-out: a group message goes once to each
 * distinct owner with the members it holds, instead of once per node
 * (broadcast) or once per member.
 *
 * @returns node id -> the keys it owns, in first-seen order (owners in the
 *   order they first appear). Repeated keys are kept once.
 * @throws RingError `EMPTY_RING` when the ring has no nodes.
 */
export function groupByOwner(ring: OwnerLookup, keys: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    const id = ring.lookup(key).id;
    const list = out.get(id);
    if (list === undefined) out.set(id, [key]);
    else list.push(key);
  }
  return out;
}
