/**
 * xxHash64 (XXH64) in plain JavaScript, bit-identical to the reference
 * (Cyan4973/xxHash `XXH64`), to xxhash-wasm's `h64` and to Envoy's
 * `HashUtil::xxHash64(input, seed)` over the key's UTF-8 bytes: Envoy's
 * ring hash and Maglev place hosts and route requests with it.
 *
 * No BigInt on the hot path (a BigInt operation allocates): a 64-bit value
 * is a pair of 32-bit words, high `h` and low `l`, each held as a *signed*
 * int32 so that V8 keeps it in a register as a small integer.
 *
 * - Products by the XXH64 primes: the low word is `Math.imul`; the high word
 *   adds the two cross products (`Math.imul`, mod 2^32) to the high word of
 *   the 32 x 32-bit product of the low words, built from four 16 x 16-bit
 *   products (each below 2^32, so `Math.imul` gives it exactly). Pure int32
 *   operations: one float multiplication instead measured 25% slower (the
 *   int-to-float conversions sit on the dependency chain).
 * - Sums: the carry out of the low words is read off their top bits,
 *   `((a & b) | ((a | b) & ~sum)) >>> 31`, without a comparison or a branch.
 * - Rotations and shifts move bits between the two words.
 *
 * The hot functions spell every 64-bit product out rather than call a
 * helper: TurboFan's inlining budget (920 bytes of bytecode per function)
 * ran out after a few helper calls, and the rest stayed real calls that
 * return boxed numbers (60% slower on short keys).
 *
 * As in `src/ring/xxh32.ts`, an ASCII key is read with `charCodeAt` (its
 * UTF-16 code units are its UTF-8 bytes) and the ASCII check rides along the
 * hash (an OR of every code unit); any other key is encoded by `TextEncoder`
 * into the reused buffer of {@link keyBytes} and hashed as bytes. Keys
 * shorter than one 32-byte stripe and longer ones run in separate
 * functions, each with its own type feedback.
 *
 * Results: the public functions return the high word unsigned and leave the
 * low word (unsigned) in {@link xxh64Result}, so a hash allocates nothing.
 * Internally the high word is returned signed ({@link xxh64Signed}): a
 * function that V8 does not inline returns an int32 as a small integer but
 * a value of 2^31 or more as a heap-allocated number, so half of all
 * unsigned returns would allocate. `xxh64` itself is a one-line wrapper that
 * V8 inlines into its caller, where `>>> 0` costs nothing.
 */
import { keyBytes } from '../key-bytes.js';

// The five XXH64 primes as signed high and low words, and the low word's
// two 16-bit halves (L1 high, L0 low) for the 16 x 16-bit products.
const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P1L1 = 0x85eb;
const P1L0 = 0xca87;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f;
const P2L1 = 0x27d4;
const P2L0 = 0xeb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9 | 0;
const P3L1 = 0x9e37;
const P3L0 = 0x79f9;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;
const P5L1 = 0x1656;
const P5L0 = 0x67c5;
/** P1 + P2 mod 2^64, the first lane's start over the seed. */
const P12H = 0x60ea27ee;
const P12L = 0xadc0b5d6 | 0;
/** -P1 mod 2^64, the fourth lane's start over the seed. */
const NP1H = 0x61c8864e;
const NP1L = 0x7a143579;

/** Bytes in one stripe (four 8-byte lanes): shorter keys skip the lanes' accumulators. */
const STRIPE = 32;

/** What the internal ASCII functions return for a string that is not ASCII: outside the int32 range, so never a high word. */
const NOT_ASCII = 2 ** 32;

/**
 * The low 32 bits of the last hash, unsigned: set by every call of
 * {@link xxh64}, {@link xxh64Signed} and {@link xxh64Bytes} (a module-level
 * scratch, so a hash allocates nothing). Read it right after the call.
 */
export const xxh64Result: { lo: number } = { lo: 0 };

/**
 * xxHash64 of the UTF-8 bytes of `key` (lone surrogates as U+FFFD, as
 * `TextEncoder` writes them) with the 64-bit seed `seedHi * 2^32 + seedLo`
 * (default 0). Returns the hash's high 32 bits, unsigned; its low 32 bits
 * are left in {@link xxh64Result}`.lo`, unsigned. Each seed word is taken
 * mod 2^32 (so signed int32 words work too).
 *
 * ```ts
 * const hi = xxh64('user:42', 0, 1); // Envoy's HashUtil::xxHash64(key, 1)
 * const lo = xxh64Result.lo;
 * ```
 */
export function xxh64(key: string, seedHi = 0, seedLo = 0): number {
  return xxh64Signed(key, seedHi, seedLo) >>> 0;
}

/**
 * {@link xxh64} with the high word returned *signed* (`>>> 0` gives the
 * unsigned word), so that the return never allocates even where V8 does not
 * inline the call; the low word is still left unsigned in
 * {@link xxh64Result}`.lo`.
 */
export function xxh64Signed(key: string, seedHi = 0, seedLo = 0): number {
  const sh = seedHi | 0;
  const sl = seedLo | 0;
  let h: number;
  if (key.length < STRIPE) {
    const l = (sl + P5L) | 0;
    h = asciiTail(key, 0, (sh + P5H + carry(sl, P5L, l)) | 0, l);
  } else {
    h = asciiStripes(key, sh, sl);
  }
  if (h !== NOT_ASCII) return h;
  return bytesSigned(keyBytes(key), sh, sl);
}

/**
 * xxHash64 of `bytes` with the 64-bit seed `seedHi * 2^32 + seedLo`
 * (default 0): the high 32 bits, unsigned, returned; the low 32 bits,
 * unsigned, left in {@link xxh64Result}`.lo`.
 */
export function xxh64Bytes(bytes: Uint8Array, seedHi = 0, seedLo = 0): number {
  return bytesSigned(bytes, seedHi | 0, seedLo | 0) >>> 0;
}

/**
 * The whole 64-bit hash as a bigint, of a string's UTF-8 bytes or of bytes,
 * with a seed in [0, 2^64) (default 0n): for tests and cold paths (it
 * allocates), the same value as xxhash-wasm's `h64` and `h64Raw`.
 */
export function xxh64BigInt(key: string | Uint8Array, seed = 0n): bigint {
  if (typeof seed !== 'bigint' || seed < 0n || seed > 0xffffffffffffffffn) {
    throw new RangeError(`xxHash64 seed must be a bigint in [0, 2^64), got ${String(seed)}`);
  }
  const sh = Number(seed >> 32n);
  const sl = Number(seed & 0xffffffffn);
  const hi = typeof key === 'string' ? xxh64(key, sh, sl) : xxh64Bytes(key, sh, sl);
  return (BigInt(hi) << 32n) | BigInt(xxh64Result.lo);
}

// ---------------------------------------------------------------------------
// Helpers for the cold steps (seeds, and the once-per-key merge of a long
// key's four lanes); the hot loops spell the same arithmetic out.

/** The carry out of the 32-bit sum `s = (a + b) | 0`, 0 or 1: set where both top bits are, or either is and the sum's is not. */
function carry(a: number, b: number, s: number): number {
  return ((a & b) | ((a | b) & ~s)) >>> 31;
}

/** The high word of `(h:l) * (ch:cl)` mod 2^64 (the low word is `Math.imul(l, cl)`). */
function mulHi(h: number, l: number, ch: number, cl: number): number {
  const a0 = l & 0xffff;
  const a1 = l >>> 16;
  const c0 = cl & 0xffff;
  const c1 = cl >>> 16;
  const u = (Math.imul(a1, c0) + (Math.imul(a0, c0) >>> 16)) | 0;
  return (Math.imul(a1, c1) + (u >>> 16) + Math.imul(h, cl) + Math.imul(l, ch) + ((Math.imul(a0, c1) + (u & 0xffff)) >>> 16)) | 0;
}

/** Scratch for the two helpers below: the low word of their 64-bit result, whose high word they return. */
let outLo = 0;

/** The four lanes into one accumulator, rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18): high word returned, low word in {@link outLo}. */
function convergeHi(v1h: number, v1l: number, v2h: number, v2l: number, v3h: number, v3l: number, v4h: number, v4l: number): number {
  let h = (v1h << 1) | (v1l >>> 31);
  let l = (v1l << 1) | (v1h >>> 31);
  let rh = (v2h << 7) | (v2l >>> 25);
  let rl = (v2l << 7) | (v2h >>> 25);
  let s = (l + rl) | 0;
  h = (h + rh + carry(l, rl, s)) | 0;
  l = s;
  rh = (v3h << 12) | (v3l >>> 20);
  rl = (v3l << 12) | (v3h >>> 20);
  s = (l + rl) | 0;
  h = (h + rh + carry(l, rl, s)) | 0;
  l = s;
  rh = (v4h << 18) | (v4l >>> 14);
  rl = (v4l << 18) | (v4h >>> 14);
  s = (l + rl) | 0;
  h = (h + rh + carry(l, rl, s)) | 0;
  outLo = s;
  return h;
}

/** XXH64_mergeRound, h ^= rotl(v * P2, 31) * P1; h = h * P1 + P4: high word returned, low word in {@link outLo}. */
function mergeHi(h: number, l: number, vh: number, vl: number): number {
  const mh = mulHi(vh, vl, P2H, P2L);
  const ml = Math.imul(vl, P2L);
  const rh = (mh << 31) | (ml >>> 1);
  const rl = (ml << 31) | (mh >>> 1);
  h ^= mulHi(rh, rl, P1H, P1L);
  l ^= Math.imul(rl, P1L);
  const ph = mulHi(h, l, P1H, P1L);
  const pl = Math.imul(l, P1L);
  outLo = (pl + P4L) | 0;
  return (ph + P4H + carry(pl, P4L, outLo)) | 0;
}

// ---------------------------------------------------------------------------
// The hot steps. Each 64-bit product (xh:xl) = (sh:sl) * P, P = (PH:PL) and
// PL = PL1 * 2^16 + PL0, reads:
//
//   a0 = sl & 0xffff; a1 = sl >>> 16;                   // sl's 16-bit halves
//   u = a1 * PL0 + ((a0 * PL0) >>> 16);                 // below 2^32
//   xh = a1 * PL1 + (u >>> 16) + sh * PL + sl * PH      // mod 2^32
//      + ((a0 * PL1 + (u & 0xffff)) >>> 16);            // the middle's carry, last: the longest chain
//   xl = sl * PL;                                       // mod 2^32
//
// with every `*` a Math.imul.

/** Keys of 32 characters and more: the 32-byte stripes, then {@link asciiTail}; {@link NOT_ASCII} as soon as a stripe holds a code unit above 0x7F. */
function asciiStripes(s: string, sh: number, sl: number): number {
  const len = s.length;
  let v1l = (sl + P12L) | 0;
  let v1h = (sh + P12H + carry(sl, P12L, v1l)) | 0;
  let v2l = (sl + P2L) | 0;
  let v2h = (sh + P2H + carry(sl, P2L, v2l)) | 0;
  let v3l = sl;
  let v3h = sh;
  let v4l = (sl + NP1L) | 0;
  let v4h = (sh + NP1H + carry(sl, NP1L, v4l)) | 0;
  const limit = len - STRIPE;
  let p = 0;
  let bits = 0;
  let c0: number, c1: number, c2: number, c3: number, kh: number, kl: number, a0: number, a1: number, u: number, xh: number, xl: number, rh: number, rl: number;
  do {
    // Each lane: v = rotl(v + k * P2, 31) * P1, k its next 8 bytes (little-endian).
    c0 = s.charCodeAt(p);
    c1 = s.charCodeAt(p + 1);
    c2 = s.charCodeAt(p + 2);
    c3 = s.charCodeAt(p + 3);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = s.charCodeAt(p + 4);
    c1 = s.charCodeAt(p + 5);
    c2 = s.charCodeAt(p + 6);
    c3 = s.charCodeAt(p + 7);
    bits |= c0 | c1 | c2 | c3;
    kh = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v1l + xl) | 0;
    rh = (v1h + xh + (((v1l & xl) | ((v1l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v1h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v1l = Math.imul(xl, P1L);

    c0 = s.charCodeAt(p + 8);
    c1 = s.charCodeAt(p + 9);
    c2 = s.charCodeAt(p + 10);
    c3 = s.charCodeAt(p + 11);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = s.charCodeAt(p + 12);
    c1 = s.charCodeAt(p + 13);
    c2 = s.charCodeAt(p + 14);
    c3 = s.charCodeAt(p + 15);
    bits |= c0 | c1 | c2 | c3;
    kh = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v2l + xl) | 0;
    rh = (v2h + xh + (((v2l & xl) | ((v2l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v2h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v2l = Math.imul(xl, P1L);

    c0 = s.charCodeAt(p + 16);
    c1 = s.charCodeAt(p + 17);
    c2 = s.charCodeAt(p + 18);
    c3 = s.charCodeAt(p + 19);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = s.charCodeAt(p + 20);
    c1 = s.charCodeAt(p + 21);
    c2 = s.charCodeAt(p + 22);
    c3 = s.charCodeAt(p + 23);
    bits |= c0 | c1 | c2 | c3;
    kh = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v3l + xl) | 0;
    rh = (v3h + xh + (((v3l & xl) | ((v3l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v3h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v3l = Math.imul(xl, P1L);

    c0 = s.charCodeAt(p + 24);
    c1 = s.charCodeAt(p + 25);
    c2 = s.charCodeAt(p + 26);
    c3 = s.charCodeAt(p + 27);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = s.charCodeAt(p + 28);
    c1 = s.charCodeAt(p + 29);
    c2 = s.charCodeAt(p + 30);
    c3 = s.charCodeAt(p + 31);
    bits |= c0 | c1 | c2 | c3;
    kh = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v4l + xl) | 0;
    rh = (v4h + xh + (((v4l & xl) | ((v4l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v4h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v4l = Math.imul(xl, P1L);

    if (bits > 0x7f) return NOT_ASCII;
    p += STRIPE;
  } while (p <= limit);
  let h = convergeHi(v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l);
  h = mergeHi(h, outLo, v1h, v1l);
  h = mergeHi(h, outLo, v2h, v2l);
  h = mergeHi(h, outLo, v3h, v3l);
  h = mergeHi(h, outLo, v4h, v4l);
  // Every stripe was ASCII (or it returned): the tail checks its own characters.
  return asciiTail(s, p, h, outLo);
}

/**
 * The last 0 to 31 characters from `p` on the accumulator `(h:l)`, after
 * adding the length, then the final mix: the high word, signed (the low word
 * in {@link xxh64Result}), or {@link NOT_ASCII} if any of these characters
 * is not ASCII.
 */
function asciiTail(s: string, p: number, h: number, l: number): number {
  const len = s.length;
  let bits = 0;
  let c0: number, c1: number, c2: number, c3: number, kh: number, kl: number, a0: number, a1: number, u: number, xh: number, xl: number, rh: number, rl: number;
  // h += len
  xl = (l + len) | 0;
  h = (h + (((l & len) | ((l | len) & ~xl)) >>> 31)) | 0;
  l = xl;
  for (; p + 8 <= len; p += 8) {
    c0 = s.charCodeAt(p);
    c1 = s.charCodeAt(p + 1);
    c2 = s.charCodeAt(p + 2);
    c3 = s.charCodeAt(p + 3);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    c0 = s.charCodeAt(p + 4);
    c1 = s.charCodeAt(p + 5);
    c2 = s.charCodeAt(p + 6);
    c3 = s.charCodeAt(p + 7);
    bits |= c0 | c1 | c2 | c3;
    kh = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    // h ^= rotl(k * P2, 31) * P1
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rh = (xh << 31) | (xl >>> 1);
    rl = (xl << 31) | (xh >>> 1);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P1L);
    h ^= xh;
    l ^= xl;
    // h = rotl(h, 27) * P1 + P4
    rh = (h << 27) | (l >>> 5);
    rl = (l << 27) | (h >>> 5);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P1L);
    l = (xl + P4L) | 0;
    h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  }
  if (p + 4 <= len) {
    c0 = s.charCodeAt(p);
    c1 = s.charCodeAt(p + 1);
    c2 = s.charCodeAt(p + 2);
    c3 = s.charCodeAt(p + 3);
    bits |= c0 | c1 | c2 | c3;
    kl = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    // h ^= k * P1, k a 32-bit word (high word 0)
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(kl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P1L);
    h ^= xh;
    l ^= xl;
    // h = rotl(h, 23) * P2 + P3
    rh = (h << 23) | (l >>> 9);
    rl = (l << 23) | (h >>> 9);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(rh, P2L) + Math.imul(rl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P2L);
    l = (xl + P3L) | 0;
    h = (xh + P3H + (((xl & P3L) | ((xl | P3L) & ~l)) >>> 31)) | 0;
    p += 4;
  }
  for (; p < len; p++) {
    c0 = s.charCodeAt(p);
    bits |= c0;
    // h ^= c * P5 (c below 2^16, so c * P5L1 + 1 stays below 2^32); h = rotl(h, 11) * P1
    h ^= (Math.imul(c0, P5H) + ((Math.imul(c0, P5L1) + (Math.imul(c0, P5L0) >>> 16)) >>> 16)) | 0;
    l ^= Math.imul(c0, P5L);
    rh = (h << 11) | (l >>> 21);
    rl = (l << 11) | (h >>> 21);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    l = Math.imul(rl, P1L);
  }
  if (bits > 0x7f) return NOT_ASCII;
  // Avalanche: h ^= h >>> 33; h *= P2; h ^= h >>> 29; h *= P3; h ^= h >>> 32.
  l ^= h >>> 1;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(h, P2L) + Math.imul(l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P2L);
  xl ^= (xl >>> 29) | (xh << 3);
  xh ^= xh >>> 29;
  a0 = xl & 0xffff;
  a1 = xl >>> 16;
  u = (Math.imul(a1, P3L0) + (Math.imul(a0, P3L0) >>> 16)) | 0;
  h = (Math.imul(a1, P3L1) + (u >>> 16) + Math.imul(xh, P3L) + Math.imul(xl, P3H) + ((Math.imul(a0, P3L1) + (u & 0xffff)) >>> 16)) | 0;
  l = Math.imul(xl, P3L);
  xxh64Result.lo = (l ^ h) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------
// Bytes: the same steps, reading a Uint8Array.

function bytesSigned(x: Uint8Array, sh: number, sl: number): number {
  if (x.length < STRIPE) {
    const l = (sl + P5L) | 0;
    return bytesTail(x, 0, (sh + P5H + carry(sl, P5L, l)) | 0, l);
  }
  return bytesStripes(x, sh, sl);
}

/** Arrays of 32 bytes and more: the 32-byte stripes, then {@link bytesTail}. */
function bytesStripes(x: Uint8Array, sh: number, sl: number): number {
  const len = x.length;
  let v1l = (sl + P12L) | 0;
  let v1h = (sh + P12H + carry(sl, P12L, v1l)) | 0;
  let v2l = (sl + P2L) | 0;
  let v2h = (sh + P2H + carry(sl, P2L, v2l)) | 0;
  let v3l = sl;
  let v3h = sh;
  let v4l = (sl + NP1L) | 0;
  let v4h = (sh + NP1H + carry(sl, NP1L, v4l)) | 0;
  const limit = len - STRIPE;
  let p = 0;
  let kh: number, kl: number, a0: number, a1: number, u: number, xh: number, xl: number, rh: number, rl: number;
  do {
    kl = x[p]! | (x[p + 1]! << 8) | (x[p + 2]! << 16) | (x[p + 3]! << 24);
    kh = x[p + 4]! | (x[p + 5]! << 8) | (x[p + 6]! << 16) | (x[p + 7]! << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v1l + xl) | 0;
    rh = (v1h + xh + (((v1l & xl) | ((v1l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v1h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v1l = Math.imul(xl, P1L);

    kl = x[p + 8]! | (x[p + 9]! << 8) | (x[p + 10]! << 16) | (x[p + 11]! << 24);
    kh = x[p + 12]! | (x[p + 13]! << 8) | (x[p + 14]! << 16) | (x[p + 15]! << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v2l + xl) | 0;
    rh = (v2h + xh + (((v2l & xl) | ((v2l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v2h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v2l = Math.imul(xl, P1L);

    kl = x[p + 16]! | (x[p + 17]! << 8) | (x[p + 18]! << 16) | (x[p + 19]! << 24);
    kh = x[p + 20]! | (x[p + 21]! << 8) | (x[p + 22]! << 16) | (x[p + 23]! << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v3l + xl) | 0;
    rh = (v3h + xh + (((v3l & xl) | ((v3l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v3h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v3l = Math.imul(xl, P1L);

    kl = x[p + 24]! | (x[p + 25]! << 8) | (x[p + 26]! << 16) | (x[p + 27]! << 24);
    kh = x[p + 28]! | (x[p + 29]! << 8) | (x[p + 30]! << 16) | (x[p + 31]! << 24);
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rl = (v4l + xl) | 0;
    rh = (v4h + xh + (((v4l & xl) | ((v4l | xl) & ~rl)) >>> 31)) | 0;
    xh = (rh << 31) | (rl >>> 1);
    xl = (rl << 31) | (rh >>> 1);
    a0 = xl & 0xffff;
    a1 = xl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    v4h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(xh, P1L) + Math.imul(xl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    v4l = Math.imul(xl, P1L);

    p += STRIPE;
  } while (p <= limit);
  let h = convergeHi(v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l);
  h = mergeHi(h, outLo, v1h, v1l);
  h = mergeHi(h, outLo, v2h, v2l);
  h = mergeHi(h, outLo, v3h, v3l);
  h = mergeHi(h, outLo, v4h, v4l);
  return bytesTail(x, p, h, outLo);
}

/** The last 0 to 31 bytes from `p` on the accumulator `(h:l)`, after adding the length, then the final mix: the high word, signed (the low word in {@link xxh64Result}). */
function bytesTail(x: Uint8Array, p: number, h: number, l: number): number {
  const len = x.length;
  let c0: number, kh: number, kl: number, a0: number, a1: number, u: number, xh: number, xl: number, rh: number, rl: number;
  // h += len, a 64-bit word (an array may pass 2^32 bytes)
  const lenLo = len | 0;
  xl = (l + lenLo) | 0;
  h = (h + Math.floor(len / 4294967296) + (((l & lenLo) | ((l | lenLo) & ~xl)) >>> 31)) | 0;
  l = xl;
  for (; p + 8 <= len; p += 8) {
    kl = x[p]! | (x[p + 1]! << 8) | (x[p + 2]! << 16) | (x[p + 3]! << 24);
    kh = x[p + 4]! | (x[p + 5]! << 8) | (x[p + 6]! << 16) | (x[p + 7]! << 24);
    // h ^= rotl(k * P2, 31) * P1
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(kh, P2L) + Math.imul(kl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P2L);
    rh = (xh << 31) | (xl >>> 1);
    rl = (xl << 31) | (xh >>> 1);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P1L);
    h ^= xh;
    l ^= xl;
    // h = rotl(h, 27) * P1 + P4
    rh = (h << 27) | (l >>> 5);
    rl = (l << 27) | (h >>> 5);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P1L);
    l = (xl + P4L) | 0;
    h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  }
  if (p + 4 <= len) {
    kl = x[p]! | (x[p + 1]! << 8) | (x[p + 2]! << 16) | (x[p + 3]! << 24);
    // h ^= k * P1, k a 32-bit word (high word 0)
    a0 = kl & 0xffff;
    a1 = kl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(kl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(kl, P1L);
    h ^= xh;
    l ^= xl;
    // h = rotl(h, 23) * P2 + P3
    rh = (h << 23) | (l >>> 9);
    rl = (l << 23) | (h >>> 9);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
    xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(rh, P2L) + Math.imul(rl, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
    xl = Math.imul(rl, P2L);
    l = (xl + P3L) | 0;
    h = (xh + P3H + (((xl & P3L) | ((xl | P3L) & ~l)) >>> 31)) | 0;
    p += 4;
  }
  for (; p < len; p++) {
    c0 = x[p]!;
    // h ^= c * P5 (c below 2^16, so c * P5L1 + 1 stays below 2^32); h = rotl(h, 11) * P1
    h ^= (Math.imul(c0, P5H) + ((Math.imul(c0, P5L1) + (Math.imul(c0, P5L0) >>> 16)) >>> 16)) | 0;
    l ^= Math.imul(c0, P5L);
    rh = (h << 11) | (l >>> 21);
    rl = (l << 11) | (h >>> 21);
    a0 = rl & 0xffff;
    a1 = rl >>> 16;
    u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
    h = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
    l = Math.imul(rl, P1L);
  }
  // Avalanche: h ^= h >>> 33; h *= P2; h ^= h >>> 29; h *= P3; h ^= h >>> 32.
  l ^= h >>> 1;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(h, P2L) + Math.imul(l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P2L);
  xl ^= (xl >>> 29) | (xh << 3);
  xh ^= xh >>> 29;
  a0 = xl & 0xffff;
  a1 = xl >>> 16;
  u = (Math.imul(a1, P3L0) + (Math.imul(a0, P3L0) >>> 16)) | 0;
  h = (Math.imul(a1, P3L1) + (u >>> 16) + Math.imul(xh, P3L) + Math.imul(xl, P3H) + ((Math.imul(a0, P3L1) + (u & 0xffff)) >>> 16)) | 0;
  l = Math.imul(xl, P3L);
  xxh64Result.lo = (l ^ h) >>> 0;
  return h;
}
