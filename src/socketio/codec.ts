/**
 * The adapter's wire format: JSON, with binary values (Buffer, typed arrays,
 * ArrayBuffer) carried as base64 so acks and events with binary content
 * survive a string-only {@link Transport}. A plain object whose key starts
 * with the marker character gets one more marker, so user data can never be
 * mistaken for an encoded binary.
 */
const MARK = '\u0000';
const BINARY = `${MARK}b`;

/** Encodes `value` (a cluster message) as a transport string. */
export function encode(value: unknown): string {
  // Most packets hold no binary and no marked key: no copy then.
  return JSON.stringify(plain(value) ? value : escape(value));
}

/** Decodes a transport string; throws on text that is not JSON. */
export function decode(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  // JSON always writes U+0000 as the escape `\u0000`: without one, nothing is marked.
  return text.includes('\\u0000') ? unescape(value) : value;
}

/** Whether JSON.stringify alone encodes `value` faithfully: no binary, no key starting with the marker, no toJSON but Date's. */
function plain(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!plain(item)) return false;
    return true;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value instanceof Date;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (key.startsWith(MARK)) return false;
    if (!plain((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function escape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return { [BINARY]: value.toString('base64') };
  if (value instanceof ArrayBuffer) return { [BINARY]: Buffer.from(value).toString('base64'), t: 'a' };
  if (ArrayBuffer.isView(value)) return { [BINARY]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(escape);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return escape((value as { toJSON(): unknown }).toJSON());
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === 'function') continue;
    define(out, key.startsWith(MARK) ? MARK + key : key, escape(item));
  }
  return out;
}

function unescape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(unescape);
  const record = value as Record<string, unknown>;
  const binary = record[BINARY];
  if (typeof binary === 'string') {
    const buffer = Buffer.from(binary, 'base64');
    return record.t === 'a' ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    define(out, key.startsWith(MARK) ? key.slice(1) : key, unescape(item));
  }
  return out;
}

/** Sets an own property, `__proto__` included, without touching the prototype. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
