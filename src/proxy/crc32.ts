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
