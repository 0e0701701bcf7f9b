import { RingError, describe } from '../errors.js';
import { checkHasher, hasherFromName } from './hasher.js';
import { MAX_VNODES } from './limits.js';
import { normalizeNodes } from './node.js';
import type { Hasher, RingNode } from './types.js';

/** A validated snapshot, with the hasher it needs. */
export interface ParsedSnapshot {
  readonly vnodes: number;
  readonly hasher: Hasher;
  readonly nodes: RingNode[];
}

/**
 * Validates `HashRing.toJSON()` output (possibly after a trip through JSON)
 * and finds its hasher: the one given, which must have the recorded name,
 * or the built-in xxHash32 for `"xxh32"` names.
 */
export async function parseSnapshot(snapshot: unknown, hasher?: Hasher): Promise<ParsedSnapshot> {
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
  return { vnodes, hasher: h, nodes };
}

function invalid(message: string, cause?: unknown): RingError {
  return new RingError('INVALID_SNAPSHOT', message, cause === undefined ? undefined : { cause });
}
