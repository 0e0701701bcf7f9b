/**
 * xxHash64 (XXH64) in plain JavaScript, bit-identical to the reference
 * (Cyan4973/xxHash `XXH64`), to xxhash-wasm's `h64` and to Envoy's
 * `HashUtil::xxHash64(input, seed)` over the key's UTF-8 bytes (Envoy's ring
 * hash and Maglev place hosts and pick them with it; Maglev's skip uses
 * seed 1).
 *
 * No BigInt on the hot path (every BigInt operation allocates): a 64-bit
 * value is a pair of 32-bit words, high `h` and low `l`, each held as a
 * *signed* int32 so that V8 keeps it in a register as a small integer.
 *
 * - Products by the XXH64 primes: the low word is `Math.imul`; the high word
 *   adds the two cross products (`Math.imul`, mod 2^32) to the high word of
 *   the 32 x 32-bit product of the low words, built from four 16 x 16-bit
 *   products (each below 2^32, so `Math.imul` gives it exactly). All int32:
 *   the same high word from one float multiplication measured 30% slower
 *   (the int-to-float conversions sit on the dependency chain).
 * - Sums: the carry out of the low words is read off their top bits,
 *   `((a & b) | ((a | b) & ~sum)) >>> 31`, without a comparison or a branch.
 * - Rotations and shifts move bits between the two words.
 *
 * The hot functions spell every 64-bit product out (the same five lines
 * each time, see "The hot steps" below) rather than call a helper: with
 * helpers, TurboFan's inlining budget (920 bytes of bytecode per function)
 * ran out after a few calls, the rest stayed real calls returning boxed
 * numbers, and short keys took 1.5x as long.
 *
 * Keys, as in `src/ring/xxh32.ts`: a key shorter than one 32-byte stripe is
 * read with `charCodeAt` when it is ASCII (its UTF-16 code units are then
 * its UTF-8 bytes), the ASCII check riding along the hash (an OR of every
 * code unit). Any other key, and every longer one, is encoded by
 * `TextEncoder.encodeInto` into a reused buffer (lone surrogates as U+FFFD)
 * and hashed from there through a DataView, 4 bytes per load. Measured
 * against a `charCodeAt` stripe loop: 15% slower at 32 to 40 characters
 * (`encodeInto` costs about 40 ns a call), even at 48, twice as fast at
 * 1,000, so one loop serves every long key, ASCII or not.
 *
 * Results: the public functions return the high word unsigned and leave the
 * low word (unsigned) in {@link xxh64Result}, so a hash allocates nothing.
 * Internally the high word is returned signed ({@link xxh64Signed}): a
 * function that V8 does not inline returns an int32 as a small integer but
 * a value of 2^31 or more as a heap-allocated number, so half of all
 * unsigned returns would allocate. `xxh64` itself is a one-line wrapper that
 * V8 inlines into its caller, where `>>> 0` costs nothing.
 */
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
  if (key.length < STRIPE) {
    const l = (sl + P5L) | 0;
    const h = asciiTail(key, (sh + P5H + carry(sl, P5L, l)) | 0, l);
    if (h !== NOT_ASCII) return h;
  }
  return utf8Signed(key, sh, sl);
}

/**
 * xxHash64 of `bytes` with the 64-bit seed `seedHi * 2^32 + seedLo`
 * (default 0): the high 32 bits, unsigned, returned; the low 32 bits,
 * unsigned, left in {@link xxh64Result}`.lo`.
 */
export function xxh64Bytes(bytes: Uint8Array, seedHi = 0, seedLo = 0): number {
  const len = bytes.length;
  if (fitScratch(len)) {
    // Copying into the scratch measured faster than making a DataView of the caller's memory (12 bytes: 55 ns against 100).
    scratch.set(bytes);
    return viewHash(scratchView, scratch, len, seedHi | 0, seedLo | 0) >>> 0;
  }
  return viewHash(new DataView(bytes.buffer, bytes.byteOffset, len), bytes, len, seedHi | 0, seedLo | 0) >>> 0;
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
// UTF-8 into a reused buffer.

/** Largest reused buffer: longer inputs get one of their own (hashing them, about 1 ns a byte, dwarfs the allocation). */
const SCRATCH_MAX = 1 << 16;
let scratch = new Uint8Array(1 << 12);
let scratchView = new DataView(scratch.buffer);
const encoder = new TextEncoder();

/** Whether `size` bytes fit the reused buffer, grown (by doubling, up to {@link SCRATCH_MAX}) if needed. */
function fitScratch(size: number): boolean {
  if (size <= scratch.length) return true;
  if (size > SCRATCH_MAX) return false;
  let n = scratch.length * 2;
  while (n < size) n *= 2;
  scratch = new Uint8Array(n);
  scratchView = new DataView(scratch.buffer);
  return true;
}

/** xxHash64 of `s`'s UTF-8 bytes (TextEncoder's), high word signed: strings of 32 characters and more, and shorter ones that are not ASCII. */
function utf8Signed(s: string, sh: number, sl: number): number {
  // Three bytes per UTF-16 code unit at most.
  if (fitScratch(s.length * 3)) {
    const { written } = encoder.encodeInto(s, scratch);
    return viewHash(scratchView, scratch, written, sh, sl);
  }
  const bytes = encoder.encode(s);
  return viewHash(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), bytes, bytes.length, sh, sl);
}

// ---------------------------------------------------------------------------
// 64-bit arithmetic.

/** The carry out of the 32-bit sum `s = (a + b) | 0`, 0 or 1: set where both top bits are, or either is and the sum's is not. */
function carry(a: number, b: number, s: number): number {
  return ((a & b) | ((a | b) & ~s)) >>> 31;
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

/**
 * A string of fewer than 32 characters from its code units, on the
 * accumulator `(h:l)` (seed + P5), after adding the length, then the final
 * mix: the high word, signed (the low word in {@link xxh64Result}), or
 * {@link NOT_ASCII} if any character is not ASCII.
 */
function asciiTail(s: string, h: number, l: number): number {
  const len = s.length;
  let p = 0;
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
    // h ^= c * P5 (c below 2^16: c * P5L1 plus the carry from c * P5L0 stays below 2^32); h = rotl(h, 11) * P1
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
// Bytes: the same steps on `len` bytes, the 8- and 4-byte words read through
// a DataView (little-endian whatever the platform; one bounds-checked load
// per word), the last 0 to 3 bytes from the Uint8Array `x` over the same
// memory.

/** `x[0, len)` (viewed by `dv` too) with the seed `(sh:sl)`: the high word, signed (the low word in {@link xxh64Result}). */
function viewHash(dv: DataView, x: Uint8Array, len: number, sh: number, sl: number): number {
  if (len < STRIPE) {
    const l = (sl + P5L) | 0;
    return viewTail(dv, x, len, 0, (sh + P5H + carry(sl, P5L, l)) | 0, l);
  }
  return viewStripes(dv, x, len, sh, sl);
}

/** 32 bytes and more: the 32-byte stripes, then {@link viewTail}. */
function viewStripes(dv: DataView, x: Uint8Array, len: number, sh: number, sl: number): number {
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
    // Each lane: v = rotl(v + k * P2, 31) * P1, k its next 8 bytes (little-endian).
    kl = dv.getInt32(p, true);
    kh = dv.getInt32(p + 4, true);
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

    kl = dv.getInt32(p + 8, true);
    kh = dv.getInt32(p + 12, true);
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

    kl = dv.getInt32(p + 16, true);
    kh = dv.getInt32(p + 20, true);
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

    kl = dv.getInt32(p + 24, true);
    kh = dv.getInt32(p + 28, true);
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
  let h: number, l: number;
  // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
  h = (v1h << 1) | (v1l >>> 31);
  l = (v1l << 1) | (v1h >>> 31);
  rh = (v2h << 7) | (v2l >>> 25);
  rl = (v2l << 7) | (v2h >>> 25);
  xl = (l + rl) | 0;
  h = (h + rh + (((l & rl) | ((l | rl) & ~xl)) >>> 31)) | 0;
  l = xl;
  rh = (v3h << 12) | (v3l >>> 20);
  rl = (v3l << 12) | (v3h >>> 20);
  xl = (l + rl) | 0;
  h = (h + rh + (((l & rl) | ((l | rl) & ~xl)) >>> 31)) | 0;
  l = xl;
  rh = (v4h << 18) | (v4l >>> 14);
  rl = (v4l << 18) | (v4h >>> 14);
  xl = (l + rl) | 0;
  h = (h + rh + (((l & rl) | ((l | rl) & ~xl)) >>> 31)) | 0;
  l = xl;
  // h ^= rotl(v1 * P2, 31) * P1; h = h * P1 + P4
  a0 = v1l & 0xffff;
  a1 = v1l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(v1h, P2L) + Math.imul(v1l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(v1l, P2L);
  rh = (xh << 31) | (xl >>> 1);
  rl = (xl << 31) | (xh >>> 1);
  a0 = rl & 0xffff;
  a1 = rl >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(rl, P1L);
  h ^= xh;
  l ^= xl;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(h, P1L) + Math.imul(l, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P1L);
  l = (xl + P4L) | 0;
  h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  // h ^= rotl(v2 * P2, 31) * P1; h = h * P1 + P4
  a0 = v2l & 0xffff;
  a1 = v2l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(v2h, P2L) + Math.imul(v2l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(v2l, P2L);
  rh = (xh << 31) | (xl >>> 1);
  rl = (xl << 31) | (xh >>> 1);
  a0 = rl & 0xffff;
  a1 = rl >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(rl, P1L);
  h ^= xh;
  l ^= xl;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(h, P1L) + Math.imul(l, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P1L);
  l = (xl + P4L) | 0;
  h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  // h ^= rotl(v3 * P2, 31) * P1; h = h * P1 + P4
  a0 = v3l & 0xffff;
  a1 = v3l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(v3h, P2L) + Math.imul(v3l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(v3l, P2L);
  rh = (xh << 31) | (xl >>> 1);
  rl = (xl << 31) | (xh >>> 1);
  a0 = rl & 0xffff;
  a1 = rl >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(rl, P1L);
  h ^= xh;
  l ^= xl;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(h, P1L) + Math.imul(l, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P1L);
  l = (xl + P4L) | 0;
  h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  // h ^= rotl(v4 * P2, 31) * P1; h = h * P1 + P4
  a0 = v4l & 0xffff;
  a1 = v4l >>> 16;
  u = (Math.imul(a1, P2L0) + (Math.imul(a0, P2L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P2L1) + (u >>> 16) + Math.imul(v4h, P2L) + Math.imul(v4l, P2H) + ((Math.imul(a0, P2L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(v4l, P2L);
  rh = (xh << 31) | (xl >>> 1);
  rl = (xl << 31) | (xh >>> 1);
  a0 = rl & 0xffff;
  a1 = rl >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(rh, P1L) + Math.imul(rl, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(rl, P1L);
  h ^= xh;
  l ^= xl;
  a0 = l & 0xffff;
  a1 = l >>> 16;
  u = (Math.imul(a1, P1L0) + (Math.imul(a0, P1L0) >>> 16)) | 0;
  xh = (Math.imul(a1, P1L1) + (u >>> 16) + Math.imul(h, P1L) + Math.imul(l, P1H) + ((Math.imul(a0, P1L1) + (u & 0xffff)) >>> 16)) | 0;
  xl = Math.imul(l, P1L);
  l = (xl + P4L) | 0;
  h = (xh + P4H + (((xl & P4L) | ((xl | P4L) & ~l)) >>> 31)) | 0;
  return viewTail(dv, x, len, p, h, l);
}

/** The last 0 to 31 bytes from `p` on the accumulator `(h:l)`, after adding the length, then the final mix: the high word, signed (the low word in {@link xxh64Result}). */
function viewTail(dv: DataView, x: Uint8Array, len: number, p: number, h: number, l: number): number {
  let c0: number, kh: number, kl: number, a0: number, a1: number, u: number, xh: number, xl: number, rh: number, rl: number;
  // h += len, as a 64-bit word (an array may pass 2^32 bytes)
  const lenLo = len | 0;
  xl = (l + lenLo) | 0;
  h = (h + Math.floor(len / 4294967296) + (((l & lenLo) | ((l | lenLo) & ~xl)) >>> 31)) | 0;
  l = xl;
  for (; p + 8 <= len; p += 8) {
    kl = dv.getInt32(p, true);
    kh = dv.getInt32(p + 4, true);
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
    kl = dv.getInt32(p, true);
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
    // h ^= c * P5 (c below 2^16: c * P5L1 plus the carry from c * P5L0 stays below 2^32); h = rotl(h, 11) * P1
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
