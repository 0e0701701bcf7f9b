import type { RingState } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNode, normalizeNodes } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';

/** What an epoch id may look like. */
export const EPOCH = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Parses and fully validates a ring state read from the KV bucket. Throws
 * `INVALID_SNAPSHOT` for anything but `{"epoch": <id>, "version": <positive
 * safe integer>, "nodes": [valid nodes, ids unique]}` of at most `maxBytes`.
 */
export function parseRingState(raw: Uint8Array, where: string, maxBytes: number): RingState {
  if (raw.byteLength > maxBytes) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} is ${raw.byteLength} bytes; the limit is ${maxBytes} (maxStateBytes)`);
  }
  const value = parseJson(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), `ring state at ${where}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} must be an object {epoch, version, nodes}, got ${describe(value)}`);
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

/** A member record as stored: the node and the random token of the `join` that holds it. */
export interface MemberRecord {
  readonly node: RingNode;
  /** The node's JSON, for comparing records without caring about key order. */
  readonly json: string;
  readonly owner: string;
}

/** Parses a member record `{"node":{...},"owner":"<token>"}`. Throws `INVALID_SNAPSHOT`. */
export function parseMemberRecord(raw: Uint8Array, where: string): MemberRecord {
  const value = parseJson(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), `member record at ${where}`);
  const { node, owner } = (typeof value === 'object' && value !== null ? value : {}) as { node?: unknown; owner?: unknown };
  if (typeof owner !== 'string' || owner.length === 0) {
    throw new RingError('INVALID_SNAPSHOT', `member record at ${where} has no owner token; expected {"node":{...},"owner":"..."}`);
  }
  let valid: RingNode;
  try {
    valid = normalizeNode(node, `${where}: node`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RingError('INVALID_SNAPSHOT', `member record at ${where} holds a bad node: ${reason}`, { cause: error });
  }
  return { node: valid, json: JSON.stringify(valid), owner };
}

function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new RingError('INVALID_SNAPSHOT', `${what} is not valid JSON (starts with ${describe(raw.slice(0, 40))})`, { cause: error });
  }
}
