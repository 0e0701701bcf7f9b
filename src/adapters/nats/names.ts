import { createHash } from 'node:crypto';
import { RingError, describe } from '../../errors.js';
import { MAX_ADDRESS_LENGTH } from '../../live/transport.js';

/** Longest accepted prefix, in characters. */
export const MAX_NATS_PREFIX_LENGTH = 64;

/** The prefix used when none is given. */
export const DEFAULT_NATS_PREFIX = 'ringroute';

/** Longest encoded subject token or key before it is replaced by a hash. */
const MAX_TOKEN_LENGTH = 200;

/**
 * The NATS names of one prefix: two JetStream KV buckets and a subject
 * namespace for the transport. The prefix is a single subject token and part
 * of the bucket names, so it is restricted to letters, digits, `_` and `-`.
 */
export interface NatsNames {
  /** KV bucket holding the ring under the key `ring` (stream `KV_<prefix>-ring`). */
  readonly ringBucket: string;
  /** KV bucket holding one key per member, with the bucket's max age as the ttl (stream `KV_<prefix>-members`). */
  readonly membersBucket: string;
  /** Subject prefix of the transport: an address is published on `<prefix>.sessions.<token>`. */
  readonly sessions: string;
}

/** The bucket and subject names the NATS adapters use for `prefix`; handy for monitoring and permissions. */
export function natsNames(prefix: string = DEFAULT_NATS_PREFIX): NatsNames {
  checkNatsPrefix(prefix);
  return Object.freeze({ ringBucket: `${prefix}-ring`, membersBucket: `${prefix}-members`, sessions: `${prefix}.sessions` });
}

/** Throws `INVALID_OPTION` unless `prefix` is 1-64 letters, digits, `_` or `-`. */
export function checkNatsPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
    // NATS reserves `.` (token separator), `*` and `>` (wildcards) and whitespace in subjects, and bucket names
    // allow only letters, digits, `_` and `-`; one rule for both keeps every name valid.
    throw new RingError(
      'INVALID_OPTION',
      `prefix must be 1 to ${MAX_NATS_PREFIX_LENGTH} letters, digits, "_" or "-" (NATS reserves ".", "*", ">" and whitespace in subjects), got ${describe(prefix)}`,
    );
  }
}

/**
 * The subject token of a transport address: printable ASCII stays as it is
 * (so `node:a` is `node:a`), and the bytes NATS reserves or cannot carry in a
 * token (`.`, `*`, `>`, whitespace, control characters, non-ASCII) become
 * `%HH` of their UTF-8 bytes, as do `%` and `#`. A token longer than 200
 * characters becomes `#` and the SHA-256 of the address in hex (64
 * characters), which no encoded address can equal since `#` is escaped.
 */
export function addressToken(address: unknown): string {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) {
    throw new RingError('INVALID_OPTION', `a transport address must be a string of 1 to ${MAX_ADDRESS_LENGTH} characters, got ${describe(address)}`);
  }
  const token = escapeBytes(address, (b) => b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x2a && b !== 0x3e && b !== 0x25 && b !== 0x23, '%');
  return token.length <= MAX_TOKEN_LENGTH ? token : `#${sha256(address)}`;
}

/**
 * The KV key of a member id. KV keys allow only letters, digits and `-/_=.`,
 * so letters, digits and `-` stay as they are and every other UTF-8 byte
 * becomes `_HH` (`node.1` is `node_2E1`); a key longer than 200 characters
 * becomes `=` and the SHA-256 of the id in hex. The value holds the full
 * node, so the key is only an index.
 */
export function memberKey(id: string): string {
  const key = escapeBytes(id, (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d, '_');
  return key.length <= MAX_TOKEN_LENGTH ? key : `=${sha256(id)}`;
}

function escapeBytes(text: string, literal: (byte: number) => boolean, escape: string): string {
  if (/^[A-Za-z0-9-]*$/.test(text)) return text; // the common case: nothing to escape
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += literal(byte) ? String.fromCharCode(byte) : `${escape}${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
