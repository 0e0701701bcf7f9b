import type { MembershipEvent, RingState } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNode, normalizeNodes } from '../../ring/node.js';

/** What an epoch id may look like (the CAS script matches `[%w%-]+`). */
export const EPOCH = /^[A-Za-z0-9-]{1,64}$/;

const EVENT_TYPES: ReadonlySet<string> = new Set(['join', 'leave', 'expire', 'update']);

/**
 * Parses and fully validates a ring state read from Redis or pushed on its
 * channel. Throws `INVALID_SNAPSHOT` (with the underlying problem as
 * `cause`) for anything but `{"epoch": <id>, "version": <positive safe integer>,
 * "nodes": [valid nodes, ids unique]}` of at most `maxBytes` UTF-8 bytes.
 */
export function parseRingState(raw: string, where: string, maxBytes: number): RingState {
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (bytes > maxBytes) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} is ${bytes} bytes; the limit is ${maxBytes} (maxStateBytes)`);
  }
  const value = parseJson(raw, `ring state at ${where}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} must be an object {version, nodes}, got ${describe(value)}`);
  }
  const { epoch, version, nodes } = value as { epoch?: unknown; version?: unknown; nodes?: unknown };
  if (typeof epoch !== 'string' || !EPOCH.test(epoch)) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} has epoch ${describe(epoch)}; expected 1-64 letters, digits and dashes`);
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} has version ${describe(version)}; expected a positive safe integer`);
  }
  if (!Array.isArray(nodes)) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} has nodes ${describe(nodes)}; expected an array`);
  }
  let valid;
  try {
    valid = normalizeNodes(nodes, `${where}.nodes`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} (version ${version}) holds a bad node list: ${reason}`, { cause: error });
  }
  return Object.freeze({ epoch, version, nodes: Object.freeze(valid) });
}

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

/** JSON.parse that throws `INVALID_SNAPSHOT` naming `what`. */
export function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new RingError('INVALID_SNAPSHOT', `${what} is not valid JSON (starts with ${describe(raw.slice(0, 40))})`, { cause: error });
  }
}
