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
  return JSON.stringify(escape(value));
}

/** Decodes a transport string; throws on text that is not JSON. */
export function decode(text: string): unknown {
  return unescape(JSON.parse(text) as unknown);
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
