/**
 * xxHash32 in plain JavaScript for ASCII strings, bit-identical to
 * xxhash-wasm's `h32(key, seed)` over the same string.
 *
 * Why it exists: for a short key, xxhash-wasm spends most of its time
 * copying the string into WebAssembly memory (`encodeInto`, the
 * `memory.buffer` getter, the call across the boundary), not hashing. For
 * an ASCII key the UTF-16 code units are the UTF-8 bytes, so reading them
 * with `charCodeAt` skips all of that. Other keys, and long keys where the
 * hashing itself dominates, are left to the WebAssembly hash (see
 * `hasher.ts`): encoding UTF-8 in JavaScript first measured slower than
 * xxhash-wasm beyond about 8 code units, so it is not worth a third path.
 *
 * Arithmetic is 32-bit throughout: `Math.imul` for products, `| 0` on every
 * sum, so every step matches the C reference modulo 2^32. The explicit
 * `| 0` also matters for speed: without it V8 may speculate that a sum fits
 * in a small integer and deoptimize on the first one that does not.
 */

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

/** What {@link xxh32Ascii} returns for a string that is not ASCII: outside the int32 range, so never a hash. */
export const NOT_ASCII = 2 ** 32;

/**
 * xxHash32 of an ASCII string, reading its code units as bytes, as a
 * *signed* 32-bit integer (`>>> 0` gives the usual unsigned value):
 * {@link NOT_ASCII} when the string holds a code unit above 0x7F (it is then
 * not its own UTF-8, and the caller must hash its encoding instead). The
 * ASCII check rides along the hash (an OR of every code unit), so ASCII keys
 * pay no separate scan.
 *
 * Signed, because a function that V8 does not inline returns an int32 as a
 * small integer, but a value of 2^31 or more as a heap-allocated number:
 * half of all hashes would allocate.
 */
export function xxh32Ascii(s: string, seed: number): number {
  // Short and long keys in separate functions, each with its own type
  // feedback: compiled on short keys alone (a ring's point labels), one
  // function measured 1.7x slower on the long keys that came later.
  return s.length < 16 ? tail(s, 0, (seed + P5) | 0, 0) : stripes(s, seed);
}

/** Keys of 16 characters and more: the 16-byte stripes, then {@link tail}. */
function stripes(s: string, seed: number): number {
  const len = s.length;
  let v1 = (seed + P1 + P2) | 0;
  let v2 = (seed + P2) | 0;
  let v3 = seed | 0;
  let v4 = (seed - P1) | 0;
  const limit = len - 16;
  let p = 0;
  let bits = 0;
  do {
    let a = s.charCodeAt(p);
    let b = s.charCodeAt(p + 1);
    let c = s.charCodeAt(p + 2);
    let d = s.charCodeAt(p + 3);
    bits |= a | b | c | d;
    v1 = Math.imul(rotl((v1 + Math.imul(a | (b << 8) | (c << 16) | (d << 24), P2)) | 0, 13), P1);
    a = s.charCodeAt(p + 4);
    b = s.charCodeAt(p + 5);
    c = s.charCodeAt(p + 6);
    d = s.charCodeAt(p + 7);
    bits |= a | b | c | d;
    v2 = Math.imul(rotl((v2 + Math.imul(a | (b << 8) | (c << 16) | (d << 24), P2)) | 0, 13), P1);
    a = s.charCodeAt(p + 8);
    b = s.charCodeAt(p + 9);
    c = s.charCodeAt(p + 10);
    d = s.charCodeAt(p + 11);
    bits |= a | b | c | d;
    v3 = Math.imul(rotl((v3 + Math.imul(a | (b << 8) | (c << 16) | (d << 24), P2)) | 0, 13), P1);
    a = s.charCodeAt(p + 12);
    b = s.charCodeAt(p + 13);
    c = s.charCodeAt(p + 14);
    d = s.charCodeAt(p + 15);
    bits |= a | b | c | d;
    v4 = Math.imul(rotl((v4 + Math.imul(a | (b << 8) | (c << 16) | (d << 24), P2)) | 0, 13), P1);
    if (bits > 0x7f) return NOT_ASCII;
    p += 16;
  } while (p <= limit);
  let h = (rotl(v1, 1) + rotl(v2, 7)) | 0;
  h = (h + rotl(v3, 12)) | 0;
  h = (h + rotl(v4, 18)) | 0;
  return tail(s, p, h, bits);
}

/** The last 0 to 15 characters from `p`, on the accumulator `h`, then the final mix; {@link NOT_ASCII} if any character was not. */
function tail(s: string, p: number, h: number, bits: number): number {
  const len = s.length;
  h = (h + len) | 0;
  for (; p + 4 <= len; p += 4) {
    const a = s.charCodeAt(p);
    const b = s.charCodeAt(p + 1);
    const c = s.charCodeAt(p + 2);
    const d = s.charCodeAt(p + 3);
    bits |= a | b | c | d;
    h = Math.imul(rotl((h + Math.imul(a | (b << 8) | (c << 16) | (d << 24), P3)) | 0, 17), P4);
  }
  for (; p < len; p++) {
    const a = s.charCodeAt(p);
    bits |= a;
    h = Math.imul(rotl((h + Math.imul(a, P5)) | 0, 11), P1);
  }
  if (bits > 0x7f) return NOT_ASCII;
  return avalanche(h);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return h ^ (h >>> 16);
}
