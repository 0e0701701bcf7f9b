import type { RingState } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNode } from '../../ring/node.js';
import { parseJson, parseRingState as parseRingStateText } from '../../live/ring-state.js';
import type { RingNode } from '../../ring/types.js';

export { EPOCH } from '../../live/ring-state.js';

/** Parses and fully validates a ring state read from the KV bucket (see the shared `parseRingState`). */
export function parseRingState(raw: Uint8Array, where: string, maxBytes: number): RingState {
  // The size is checked before decoding a value that may be huge.
  if (raw.byteLength > maxBytes) return parseRingStateText('', where, maxBytes, raw.byteLength);
  return parseRingStateText(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), where, maxBytes, raw.byteLength);
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

