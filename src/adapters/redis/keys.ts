import { RingError, describe } from '../../errors.js';

/** Longest accepted key prefix, in UTF-16 code units. */
export const MAX_PREFIX_LENGTH = 256;

/** The prefix used when none is given. */
export const DEFAULT_PREFIX = 'ringroute';

/**
 * The Redis keys and channels of one prefix. Every name starts with the hash
 * tag `{prefix}`, so on a Redis Cluster all of them live in one slot and the
 * multi-key Lua scripts run there atomically.
 */
export interface RedisKeys {
  /** String: the ring as JSON `{"epoch":"E","version":N,"nodes":[...]}`. */
  readonly ring: string;
  /** Channel: every new ring state, as the same JSON. */
  readonly ringChanges: string;
  /** Hash: member id to node JSON. */
  readonly members: string;
  /** Sorted set: member id scored by its expiry time (Redis server clock, ms). */
  readonly expiry: string;
  /** Hash: member id to the random token of the join that holds it. */
  readonly owners: string;
  /** String: time of the last membership script run (Redis server clock, ms); gaps in it are not counted against members. */
  readonly clock: string;
  /** Channel: membership events as JSON `{"type":"join","node":{...}}`. */
  readonly memberEvents: string;
}

/**
 * The key and channel names that the Redis adapters use for `prefix`; handy
 * for monitoring, ACLs and manual repair.
 */
export function redisKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  checkPrefix(prefix);
  const tag = `{${prefix}}`;
  return Object.freeze({
    ring: `${tag}:ring`,
    ringChanges: `${tag}:ring:changes`,
    members: `${tag}:members`,
    expiry: `${tag}:expiry`,
    owners: `${tag}:owners`,
    clock: `${tag}:clock`,
    memberEvents: `${tag}:members:events`,
  });
}

function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH) {
    throw new RingError(
      'INVALID_OPTION',
      `prefix must be a string of 1 to ${MAX_PREFIX_LENGTH} characters, got ${describe(prefix)}`,
    );
  }
  if (prefix.includes('{') || prefix.includes('}')) {
    // The prefix becomes the cluster hash tag; a brace inside would end the tag early.
    throw new RingError('INVALID_OPTION', `prefix must not contain "{" or "}", got ${describe(prefix)}`);
  }
  if (/[*?[\]\\]/.test(prefix)) {
    // Glob characters would make SCAN/KEYS patterns and ACL key patterns (`~{prefix}*`) for this
    // prefix match other prefixes' keys, so cleanup or a scoped ACL could spill over.
    throw new RingError('INVALID_OPTION', `prefix must not contain the glob characters * ? [ ] or \\, got ${describe(prefix)}`);
  }
}
