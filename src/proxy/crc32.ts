/** CRC-32 (zlib/IEEE 802.3, reflected polynomial 0xEDB88320), table-driven. */
const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC state before any byte (nginx's `ngx_crc32_init`). */
export const CRC32_INIT = 0xffffffff;

/** Feeds `bytes[from, to)` into an unfinished CRC state (nginx's `ngx_crc32_update`). */
export function crc32Update(state: number, bytes: ArrayLike<number>, from = 0, to = bytes.length): number {
  let c = state | 0;
  for (let i = from; i < to; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Finishes a CRC state into the checksum (nginx's `ngx_crc32_final`). */
export function crc32Final(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `bytes`, as zlib's `crc32()` and HAProxy's `hash_crc32`. */
export function crc32(bytes: ArrayLike<number>): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes));
}

/**
 * Points `[from, to)` of a CRC32 chain from the unfinished state `state`:
 * point j is the CRC of `state` fed the 4 little-endian bytes of point
 * j - 1 (of 0 for point 0), finalised. nginx's `hash ... consistent` and
 * lua-resty-balancer's `resty.chash` both place a server's points this way,
 * from different starting states.
 */
export function crc32Chain(state: number, from: number, to: number): Uint32Array {
  const out = new Uint32Array(to - from);
  const s = state | 0;
  let prev = 0;
  for (let j = 0; j < to; j++) {
    let c = s;
    c = TABLE[(c ^ prev) & 0xff]! ^ (c >>> 8);
    c = TABLE[(c ^ (prev >>> 8)) & 0xff]! ^ (c >>> 8);
    c = TABLE[(c ^ (prev >>> 16)) & 0xff]! ^ (c >>> 8);
    c = TABLE[(c ^ (prev >>> 24)) & 0xff]! ^ (c >>> 8);
    prev = (c ^ 0xffffffff) >>> 0;
    if (j >= from) out[j - from] = prev;
  }
  return out;
}

/**
 * CRC-32 of `s`'s UTF-8 bytes when `s` is ASCII (every code unit below
 * 0x80, so the code units are the bytes), read straight from the string
 * with `charCodeAt`: no `TextEncoder`, no buffer. -1 when `s` holds any
 * other code unit: the caller then hashes `keyBytes(s)`. The ASCII check
 * rides along (an OR of every code unit), so ASCII keys pay no extra scan.
 */
export function crc32Ascii(s: string): number {
  const len = s.length;
  const t = SLICES;
  let c = -1;
  let bits = 0;
  let i = 0;
  // Slicing-by-4: four bytes per step through four tables, a quarter of the dependent table reads.
  for (; i + 4 <= len; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const d = s.charCodeAt(i + 2);
    const e = s.charCodeAt(i + 3);
    bits |= a | b | d | e;
    c ^= a | (b << 8) | (d << 16) | (e << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < len; i++) {
    const u = s.charCodeAt(i);
    bits |= u;
    c = t[(c ^ u) & 0xff]! ^ (c >>> 8);
  }
  return bits > 0x7f ? -1 : (c ^ -1) >>> 0;
}

/** {@link TABLE} and its three slicing-by-4 successors, 256 entries each: `T[k][n] = (T[k-1][n] >>> 8) ^ T[0][T[k-1][n] & 0xff]`. */
const SLICES = (() => {
  const t = new Int32Array(1024);
  t.set(TABLE);
  for (let k = 256; k < 1024; k++) {
    const prev = t[k - 256]!;
    t[k] = (prev >>> 8) ^ TABLE[prev & 0xff]!;
  }
  return t;
})();
