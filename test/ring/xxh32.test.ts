import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { createXxHash32 } from '../../src/index.js';
import { JS_HASH_MAX_LENGTH, xxh32, xxh32Signed } from '../../src/ring/hasher.js';
import { NOT_ASCII, xxh32Ascii } from '../../src/ring/xxh32.js';

const { h32 } = await xxhash();

/** Strings of 0 to 300 code units drawn from `unit`. */
const stringOf = (unit: fc.Arbitrary<number>): fc.Arbitrary<string> =>
  fc.array(unit, { maxLength: 300 }).map((units) => String.fromCharCode(...units));

const ascii = stringOf(fc.integer({ min: 0, max: 0x7f }));
const latin1 = stringOf(fc.integer({ min: 0, max: 0xff }));
// Every code unit, so lone high and low surrogates, and pairs by chance.
const bmp = stringOf(fc.integer({ min: 0, max: 0xffff }));
const astral = fc
  .array(fc.oneof(fc.integer({ min: 0x10000, max: 0x10ffff }), fc.integer({ min: 0, max: 0x7f })), { maxLength: 150 })
  .map((points) => String.fromCodePoint(...points));
// Lone surrogates at the edges and inside, next to pairs: what TextEncoder turns into U+FFFD.
const surrogates = fc
  .array(fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE42', 'a', 'é', '中', ':'), { maxLength: 150 })
  .map((parts) => parts.join(''));
const anyString = fc.oneof(ascii, latin1, bmp, astral, surrogates);
const seed = fc.oneof(fc.constantFrom(0, 1, 7, 0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));

describe('the default hasher', () => {
  it('is bit-identical to xxhash-wasm h32 over the UTF-8 bytes of any string, for any seed', async () => {
    const hashers = new Map<number, Awaited<ReturnType<typeof createXxHash32>>>();
    await fc.assert(
      fc.asyncProperty(anyString, seed, async (s, sd) => {
        let hasher = hashers.get(sd);
        if (hasher === undefined) hashers.set(sd, (hasher = await createXxHash32(sd)));
        const expected = h32(s, sd);
        expect(hasher.hash(s)).toBe(expected);
        expect(xxh32(s, sd)).toBe(expected);
        expect(xxh32Signed(s, sd)).toBe(expected | 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes ASCII in JavaScript exactly as xxhash-wasm does, and declines anything else', () => {
    fc.assert(
      fc.property(fc.oneof(ascii, latin1, bmp, astral, surrogates), seed, (s, sd) => {
        const js = xxh32Ascii(s, sd);
        // eslint-disable-next-line no-control-regex
        if (/^[\x00-\x7f]*$/.test(s)) {
          // Signed, so that returning it never allocates; the same 32 bits.
          expect(js).toBe(h32(s, sd) | 0);
          expect(js >>> 0).toBe(h32(s, sd));
        } else {
          expect(js).toBe(NOT_ASCII);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees at every length around the JavaScript limit and the 16-byte stripes', () => {
    for (let len = 0; len <= 2 * JS_HASH_MAX_LENGTH + 17; len++) {
      const s = Array.from({ length: len }, (_, i) => String.fromCharCode(0x20 + ((i * 37) % 95))).join('');
      for (const sd of [0, 1, 0x9e3779b1, 0xffffffff]) {
        expect(xxh32(s, sd)).toBe(h32(s, sd));
        // The same length with one non-ASCII character at the end takes the WebAssembly path.
        expect(xxh32(`${s}é`, sd)).toBe(h32(`${s}é`, sd));
        expect(xxh32(`${s}\uD800`, sd)).toBe(h32(`${s}\uFFFD`, sd));
      }
    }
    expect(xxh32('', 0)).toBe(0x02cc5d05);
  });
});
