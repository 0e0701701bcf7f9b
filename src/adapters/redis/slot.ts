/** Number of hash slots of a Redis Cluster. */
export const SLOT_COUNT = 16384;

/** CRC16-CCITT (XModem) table, as Redis Cluster uses for key slots. */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

const encoder = new TextEncoder();

/**
 * The Redis Cluster hash slot of a key or shard channel name, as
 * `CLUSTER KEYSLOT` computes it: CRC16 of the UTF-8 bytes of the hash tag
 * (between the first `{` and the first `}` after it, when not empty) or of
 * the whole name, modulo 16384.
 */
export function hashSlot(name: string): number {
  let bytes = encoder.encode(name);
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc % SLOT_COUNT;
}
