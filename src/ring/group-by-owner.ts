import type { RingNode } from './types.js';

/** Anything that can name the owner of a key: a {@link HashRing} or a {@link RingRouter}. */
export interface OwnerLookup {
  lookup(key: string): RingNode;
  /** The owner of each key, in order; used when present (it hashes all keys first, then searches). */
  lookupMany?(keys: ArrayLike<string>): RingNode[];
}

/** Up to this many keys, repeats are found by scanning the owner's list instead of filling a Set. */
const SCAN_DEDUP_MAX = 64;

/**
 * Splits keys by owner, for fan-out: a group message goes once to each
 * distinct owner with the members it holds, instead of once per node
 * (broadcast) or once per member.
 *
 * With a ring that has `lookupMany` (a {@link HashRing} or a `RingRouter`),
 * every key is hashed first and searched second; nothing is allocated per
 * key beyond the lists returned (and, above 64 keys, the set that drops repeats).
 *
 * @returns node id -> the keys it owns, in first-seen order (owners in the
 *   order they first appear). Repeated keys are kept once.
 * @throws RingError `EMPTY_RING` when the ring has no nodes and `keys` is not empty.
 */
export function groupByOwner(ring: OwnerLookup, keys: Iterable<string>): Map<string, string[]> {
  const list: readonly string[] = Array.isArray(keys) ? keys : Array.from(keys);
  const out = new Map<string, string[]>();
  const count = list.length;
  if (count === 0) return out;
  const owners = typeof ring.lookupMany === 'function' ? ring.lookupMany(list) : list.map((key) => ring.lookup(key));
  // A repeated key has the same owner, so for a short list it is enough to look in that owner's keys.
  const seen = count > SCAN_DEDUP_MAX ? new Set<string>() : undefined;
  for (let i = 0; i < count; i++) {
    const key = list[i]!;
    const id = owners[i]!.id;
    const keysOf = out.get(id);
    if (seen !== undefined) {
      if (seen.has(key)) continue;
      seen.add(key);
    } else if (keysOf !== undefined && keysOf.includes(key)) {
      continue;
    }
    if (keysOf === undefined) out.set(id, [key]);
    else keysOf.push(key);
  }
  return out;
}
