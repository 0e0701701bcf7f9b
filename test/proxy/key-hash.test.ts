/**
 * The proxy placements hash ASCII keys straight from the string's code
 * units (no TextEncoder); every other key goes through its UTF-8 bytes.
 * Both paths must give the hash of the key's UTF-8 bytes: checked here
 * against zlib's crc32 and the byte versions of HAProxy's functions, over
 * random keys with ASCII, non-ASCII, astral, lone surrogates and empty ones.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haproxyPlacement } from 'ringroute/haproxy';
import { nginxPlacement } from 'ringroute/nginx';
import { crc32, crc32Ascii } from '../../src/proxy/crc32.js';
import { HAPROXY_ASCII_HASHES, HAPROXY_HASH_FUNCTIONS, fullHash, type HaproxyHashFunction } from '../../src/proxy/haproxy/hashes.js';
import { keyBytes } from '../../src/proxy/key-bytes.js';

/** Keys of every kind: printable ASCII, any code unit (lone surrogates included), any code point, ASCII control and DEL. */
const keyArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
  fc.array(fc.integer({ min: 0, max: 0x80 }), { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
);

const EDGE = ['', 'a', 'abc', 'abcd', 'abcde', '\x7f', '\x80', 'é', 'user:42:é', '\ud800', 'x\udc00y', '🙂', '\ud83d\ude42\ud83d', '%E2%82%AC', 'k'.repeat(4097), 'é'.repeat(2000)];

function utf8(s: string): Buffer {
  // Buffer's UTF-8 encoder writes lone surrogates as U+FFFD, as TextEncoder does.
  return Buffer.from(s, 'utf8');
}

describe('proxy key hashes: the ASCII fast path against the UTF-8 bytes', () => {
  it('nginx: the placement hash is zlib crc32 of the UTF-8 bytes', () => {
    const hash = nginxPlacement().hasher.hash;
    for (const key of EDGE) expect(hash(key)).toBe(zlibCrc32(utf8(key)));
    fc.assert(
      fc.property(keyArb, (key) => {
        expect(hash(key)).toBe(zlibCrc32(utf8(key)));
        expect(hash(key)).toBe(crc32(keyBytes(key)));
      }),
      { numRuns: 2000 },
    );
  });

  it('crc32Ascii: the CRC of an ASCII string, -1 for any other', () => {
    fc.assert(
      fc.property(keyArb, (key) => {
        const ascii = [...key].every((c) => c.charCodeAt(0) < 0x80);
        expect(crc32Ascii(key)).toBe(ascii ? zlibCrc32(utf8(key)) : -1);
      }),
      { numRuns: 2000 },
    );
  });

  it('HAProxy: every hash-type function, with and without avalanche, equals the byte version over the UTF-8 bytes', () => {
    for (const fn of Object.keys(HAPROXY_HASH_FUNCTIONS) as HaproxyHashFunction[]) {
      const bytes = HAPROXY_HASH_FUNCTIONS[fn];
      const ascii = HAPROXY_ASCII_HASHES[fn];
      for (const avalanche of [true, false]) {
        const hash = haproxyPlacement({ hashFunction: fn, avalanche }).hasher.hash;
        const expected = (key: string): number => (avalanche ? fullHash(bytes(utf8(key))) : bytes(utf8(key)));
        for (const key of EDGE) expect(hash(key), `${fn} ${avalanche} ${JSON.stringify(key)}`).toBe(expected(key));
        fc.assert(
          fc.property(keyArb, (key) => {
            expect(hash(key)).toBe(expected(key));
            const isAscii = [...key].every((c) => c.charCodeAt(0) < 0x80);
            expect(ascii(key)).toBe(isAscii ? bytes(utf8(key)) : -1);
          }),
          { numRuns: 500 },
        );
      }
    }
  });
});
