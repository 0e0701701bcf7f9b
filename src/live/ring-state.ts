import type { RingState } from './contracts.js';
import { RingError, describe } from '../errors.js';
import { normalizeNodes } from '../ring/node.js';

/** What an epoch id may look like (Redis' CAS script matches `[%w%-]+`). */
export const EPOCH = /^[A-Za-z0-9-]{1,64}$/;

/** `JSON.parse`, throwing `INVALID_SNAPSHOT` that names `what` and how the text starts. */
export function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new RingError('INVALID_SNAPSHOT', `${what} is not valid JSON (starts with ${describe(raw.slice(0, 40))})`, { cause: error });
  }
}

/**
 * Parses and fully validates a stored ring state, as every store adapter
 * reads it. Throws `INVALID_SNAPSHOT` (with the underlying problem as
 * `cause`) for anything but `{"epoch": <id>, "version": <positive safe
 * integer>, "nodes": [valid nodes, ids unique]}` of at most `maxBytes` UTF-8
 * bytes. `bytes` is the text's size when the caller already knows it.
 */
export function parseRingState(raw: string, where: string, maxBytes: number, bytes = Buffer.byteLength(raw, 'utf8')): RingState {
  if (bytes > maxBytes) {
    throw new RingError('INVALID_SNAPSHOT', `ring state at ${where} is ${bytes} bytes; the limit is ${maxBytes} (maxStateBytes)`);
  }
  const value = parseJson(raw, `ring state at ${where}`);
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
