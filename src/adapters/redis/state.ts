import type { MembershipEvent } from '../../live/contracts.js';
import { parseJson } from '../../live/ring-state.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNode } from '../../ring/node.js';

export { EPOCH, parseJson, parseRingState } from '../../live/ring-state.js';

const EVENT_TYPES: ReadonlySet<string> = new Set(['join', 'leave', 'expire', 'update']);

/** Parses and validates a membership event pushed on the events channel. Throws `INVALID_SNAPSHOT`. */
export function parseMembershipEvent(raw: string, where: string): MembershipEvent {
  const value = parseJson(raw, `membership event on ${where}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RingError('INVALID_SNAPSHOT', `membership event on ${where} must be an object {type, node}, got ${describe(value)}`);
  }
  const { type, node } = value as { type?: unknown; node?: unknown };
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    throw new RingError('INVALID_SNAPSHOT', `membership event on ${where} has type ${describe(type)}; expected join, leave, expire or update`);
  }
  return Object.freeze({ type: type as MembershipEvent['type'], node: parseNode(node, `membership event on ${where}`) });
}

/** Validates a node read back from Redis. Throws `INVALID_SNAPSHOT`. */
export function parseNode(value: unknown, where: string): MembershipEvent['node'] {
  try {
    return normalizeNode(value, `${where}: node`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RingError('INVALID_SNAPSHOT', `${where} holds a bad node: ${reason}`, { cause: error });
  }
}

