import { RingError, describe } from '../errors.js';
import { checkHasher, hasherFromName } from './hasher.js';
import { MAX_VNODES } from './limits.js';
import { normalizeNodes } from './node.js';
import { checkPlacement, hashPlacement, isHashPlacement, type Placement } from './placement.js';
import type { Hasher, RingNode } from './types.js';

/** A validated snapshot, with the hasher it needs. */
export interface ParsedSnapshot {
  readonly vnodes: number;
  readonly placement: Placement;
  readonly nodes: RingNode[];
}

/**
 * Validates `HashRing.toJSON()` output (possibly after a trip through JSON)
 * and finds its hasher: the one given, which must have the recorded name,
 * or the built-in xxHash32 for `"xxh32"` names.
 */
export async function parseSnapshot(snapshot: unknown, given?: Hasher | Placement): Promise<ParsedSnapshot> {
  // A default placement stands for its hasher.
  const using = isPlacementLike(given) && isHashPlacement(given) ? given.hasher : given;
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
    throw invalid(`a snapshot must be an object, got ${describe(snapshot)}`);
  }
  const s = snapshot as Record<string, unknown>;
  if (s.version !== 1) throw invalid(`snapshot.version must be 1, got ${describe(s.version)}`);
  if (typeof s.hasher !== 'string' || s.hasher === '') throw invalid(`snapshot.hasher must be a non-empty string, got ${describe(s.hasher)}`);
  const vnodes = s.vnodes;
  if (typeof vnodes !== 'number' || !Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES) {
    throw invalid(`snapshot.vnodes must be an integer in [1, ${MAX_VNODES}], got ${describe(vnodes)}`);
  }
  if (!Array.isArray(s.nodes)) throw invalid(`snapshot.nodes must be an array, got ${describe(s.nodes)}`);
  let nodes: RingNode[];
  try {
    nodes = normalizeNodes(s.nodes, 'snapshot.nodes');
  } catch (error) {
    throw invalid((error as Error).message, error);
  }
  if (s.placement !== undefined) {
    if (typeof s.placement !== 'string' || s.placement === '') throw invalid(`snapshot.placement must be a non-empty string, got ${describe(s.placement)}`);
    const p = isPlacementLike(using) ? checkPlacement(using) : undefined;
    if (p === undefined) {
      throw new RingError('HASHER_MISMATCH', `the snapshot was built with placement ${describe(s.placement)}: pass that placement to fromJSON()`);
    }
    if (p.name !== s.placement || p.hasher.name !== s.hasher) {
      throw new RingError('HASHER_MISMATCH', `the snapshot was built with placement ${describe(s.placement)} (hasher ${describe(s.hasher)}) but ${describe(p.name)} (hasher ${describe(p.hasher.name)}) was given`);
    }
    return { vnodes, placement: p, nodes };
  }
  if (isPlacementLike(using)) {
    throw new RingError('HASHER_MISMATCH', `the snapshot was built with the default placement over hasher ${describe(s.hasher)}, but placement ${describe((using as Placement).name)} was given`);
  }
  const hasher = using as Hasher | undefined;
  let h: Hasher | undefined;
  if (hasher !== undefined) {
    h = checkHasher(hasher);
    if (h.name !== s.hasher) {
      throw new RingError('HASHER_MISMATCH', `the snapshot was built with hasher ${describe(s.hasher)} but ${describe(h.name)} was given`);
    }
  } else {
    h = await hasherFromName(s.hasher);
    if (h === undefined) {
      throw new RingError('HASHER_MISMATCH', `the snapshot was built with hasher ${describe(s.hasher)}: pass that hasher to fromJSON()`);
    }
  }
  return { vnodes, placement: hashPlacement(h), nodes };
}

function invalid(message: string, cause?: unknown): RingError {
  return new RingError('INVALID_SNAPSHOT', message, cause === undefined ? undefined : { cause });
}

function isPlacementLike(value: unknown): value is Placement {
  return typeof value === 'object' && value !== null && ('rule' in value || (value as { kind?: unknown }).kind === 'table');
}
