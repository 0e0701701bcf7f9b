/**
 * HAProxy's hash functions (src/hash.c and include/haproxy/intops.h of
 * HAProxy 2.6), bit for bit, over bytes.
 */
import { crc32, crc32Ascii } from '../crc32.js';

/**
 * `full_hash`: Bob Jenkins' 6-shift 32-bit integer hash, then a
 * multiplication by 3221225473 (mod 2^32). A bijection on 32-bit integers,
 * so distinct server point numbers never share a hash.
 */
export function fullHash(x: number): number {
  let a = x >>> 0;
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473 | 0) >>> 0;
}

/** `hash_sdbm`: hash = c + (hash << 6) + (hash << 16) - hash. */
export function sdbm(bytes: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < bytes.length; i++) h = (bytes[i]! + (h << 6) + (h << 16) - h) | 0;
  return h >>> 0;
}

/** `hash_djb2`: hash = hash * 33 + c, from 5381. */
export function djb2(bytes: ArrayLike<number>): number {
  let h = 5381;
  for (let i = 0; i < bytes.length; i++) h = ((h << 5) + h + bytes[i]!) | 0;
  return h >>> 0;
}

/** `hash_wt6`: Willy Tarreau's 6-bit-rotation hash. */
export function wt6(bytes: ArrayLike<number>): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  for (let i = 0; i < bytes.length; i++) {
    let t = bytes[i]!;
    h0 = ~(h0 ^ t);
    h1 = ~(h1 + t);
    // JavaScript masks shift counts to 5 bits, as x86 does for C's `x >> 32` here.
    t = (h1 << step0) | (h1 >>> (32 - step0));
    h1 = (h0 << step1) | (h0 >>> (32 - step1));
    h0 = t;
    t = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = t & 0x1f;
    step1 = t >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

/** The key hash functions `hash-type` accepts. */
export const HAPROXY_HASH_FUNCTIONS = { sdbm, djb2, wt6, crc32 } as const;

/** A `hash-type` function name. */
export type HaproxyHashFunction = keyof typeof HAPROXY_HASH_FUNCTIONS;

/*
 * The same functions over a string's code units, for ASCII strings (whose
 * code units are their UTF-8 bytes): no `TextEncoder`, no buffer. Each
 * returns -1 when the string holds a code unit of 0x80 or more; the caller
 * then hashes `keyBytes(s)` with the byte version above.
 */

/** {@link sdbm} of an ASCII string, or -1. */
export function sdbmAscii(s: string): number {
  let h = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bits |= c;
    h = (c + (h << 6) + (h << 16) - h) | 0;
  }
  return bits > 0x7f ? -1 : h >>> 0;
}

/** {@link djb2} of an ASCII string, or -1. */
export function djb2Ascii(s: string): number {
  let h = 5381;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bits |= c;
    h = ((h << 5) + h + c) | 0;
  }
  return bits > 0x7f ? -1 : h >>> 0;
}

/** {@link wt6} of an ASCII string, or -1. */
export function wt6Ascii(s: string): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    let t = s.charCodeAt(i);
    bits |= t;
    h0 = ~(h0 ^ t);
    h1 = ~(h1 + t);
    t = (h1 << step0) | (h1 >>> (32 - step0));
    h1 = (h0 << step1) | (h0 >>> (32 - step1));
    h0 = t;
    t = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = t & 0x1f;
    step1 = t >>> 11;
  }
  return bits > 0x7f ? -1 : (h0 ^ h1) >>> 0;
}

/** The ASCII versions of {@link HAPROXY_HASH_FUNCTIONS}, by name. */
export const HAPROXY_ASCII_HASHES: { readonly [F in HaproxyHashFunction]: (s: string) => number } = { sdbm: sdbmAscii, djb2: djb2Ascii, wt6: wt6Ascii, crc32: crc32Ascii };
