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
