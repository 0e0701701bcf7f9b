/** Scratch for {@link keyBytes}: keys up to this many UTF-8 bytes reuse it. */
const scratch = new Uint8Array(4096);
const encoder = new TextEncoder();

/**
 * The UTF-8 bytes of `s` (lone surrogates as U+FFFD, like `TextEncoder`),
 * which is what a proxy hashes when the key reaches it as raw bytes. The
 * result is a view of a shared scratch buffer for short strings: use it
 * before the next call.
 */
export function keyBytes(s: string): Uint8Array {
  // Three bytes per UTF-16 unit at most.
  if (s.length * 3 <= scratch.length) {
    const { written } = encoder.encodeInto(s, scratch);
    return scratch.subarray(0, written);
  }
  return encoder.encode(s);
}
