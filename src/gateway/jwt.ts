/**
 * A ready {@link Authenticate} for signed tokens (JWT), verified with the
 * `jose` package (an optional peer dependency: install it to use this). The
 * user id is the token's `sub`; `exp` is required.
 */
import type { IncomingMessage } from 'node:http';
import type { KeyObject, webcrypto } from 'node:crypto';
import { RingError, describe } from '../errors.js';
import { type Authenticate, requestToken } from './authenticate.js';

/** Options of {@link createJwtAuthenticator}: exactly one of `secret` (HS256) and `publicKey` (EdDSA). */
export interface JwtAuthenticatorOptions {
  /** Shared secret for HS256, at least 32 bytes (a string is taken as UTF-8). */
  readonly secret?: string | Uint8Array;
  /** Ed25519 public key for EdDSA: SPKI PEM text, a `KeyObject` or a `CryptoKey`. */
  readonly publicKey?: string | KeyObject | webcrypto.CryptoKey;
  /** Required `iss`, when set. */
  readonly issuer?: string;
  /** Required `aud`, when set. */
  readonly audience?: string;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 5 */
  readonly clockToleranceSec?: number;
  /** Longer tokens are refused without being parsed. @default 4096 */
  readonly maxTokenLength?: number;
  /**
   * Valid tokens remembered (until their `exp`, at most 60 s), so a client
   * that sends many requests with one token costs one signature check: a
   * flood from one account is refused at map-lookup cost. 0 turns it off.
   * @default 10000
   */
  readonly cacheSize?: number;
  /** Time source in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

/** An {@link Authenticate} that also verifies a bare token (for app nodes and tests). */
export interface JwtAuthenticator extends Authenticate {
  /** The token's `sub` when the token is valid, else null. */
  verify(token: string): Promise<string | null>;
}

/**
 * Builds an authenticator that reads the token with {@link requestToken}
 * (Bearer header, or `?token=` on WebSocket upgrades), checks its signature,
 * algorithm, `exp` (required), `nbf`, and `iss`/`aud` when configured, and
 * resolves to its `sub`. Invalid tokens resolve to null (401).
 *
 * @throws RingError `INVALID_OPTION` for bad options, or when `jose` is not installed
 */
export async function createJwtAuthenticator(options: JwtAuthenticatorOptions): Promise<JwtAuthenticator> {
  if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `createJwtAuthenticator needs { secret } or { publicKey }, got ${describe(options)}`);
  const { secret, publicKey } = options;
  if ((secret === undefined) === (publicKey === undefined)) throw new RingError('INVALID_OPTION', 'createJwtAuthenticator needs exactly one of secret (HS256) and publicKey (EdDSA)');
  const tolerance = options.clockToleranceSec ?? 5;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) throw new RingError('INVALID_OPTION', `clockToleranceSec must be a number >= 0, got ${describe(tolerance)}`);
  const maxLength = options.maxTokenLength ?? 4096;
  if (!Number.isSafeInteger(maxLength) || maxLength < 16) throw new RingError('INVALID_OPTION', `maxTokenLength must be an integer >= 16, got ${describe(maxLength)}`);
  const cacheSize = options.cacheSize ?? 10_000;
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) throw new RingError('INVALID_OPTION', `cacheSize must be an integer >= 0, got ${describe(cacheSize)}`);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new RingError('INVALID_OPTION', `now must be a function, got ${describe(now)}`);
  for (const name of ['issuer', 'audience'] as const) {
    if (options[name] !== undefined && (typeof options[name] !== 'string' || options[name] === '')) throw new RingError('INVALID_OPTION', `${name} must be a non-empty string, got ${describe(options[name])}`);
  }
  let jose: typeof import('jose');
  try {
    jose = await import('jose');
  } catch (error) {
    throw new RingError('INVALID_OPTION', 'createJwtAuthenticator needs the "jose" package: npm install jose', { cause: error });
  }
  let key: Uint8Array | KeyObject | webcrypto.CryptoKey;
  let algorithm: 'HS256' | 'EdDSA';
  if (secret !== undefined) {
    key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (!(key instanceof Uint8Array) || key.length < 32) throw new RingError('INVALID_OPTION', `secret must be at least 32 bytes (HS256 with a short secret can be brute-forced), got ${key instanceof Uint8Array ? `${key.length} bytes` : describe(secret)}`);
    algorithm = 'HS256';
  } else {
    algorithm = 'EdDSA';
    try {
      key = typeof publicKey === 'string' ? await jose.importSPKI(publicKey, 'EdDSA') : publicKey!;
    } catch (error) {
      throw new RingError('INVALID_OPTION', `publicKey must be an Ed25519 public key (SPKI PEM): ${(error as Error).message}`, { cause: error });
    }
  }
  const verifyOptions = {
    algorithms: [algorithm],
    requiredClaims: ['exp', 'sub'],
    clockTolerance: tolerance,
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
  };
  // Valid tokens by their full text (the signature included, so a forged variant is a different key).
  const cache = new Map<string, { sub: string; until: number }>();
  const verify = async (token: string): Promise<string | null> => {
    if (typeof token !== 'string' || token.length === 0 || token.length > maxLength) return null;
    const hit = cache.get(token);
    if (hit !== undefined) {
      if (now() < hit.until) return hit.sub;
      cache.delete(token);
    }
    try {
      const { payload } = await jose.jwtVerify(token, key, { ...verifyOptions, currentDate: new Date(now()) });
      if (typeof payload.sub !== 'string' || payload.sub === '') return null;
      if (cacheSize > 0) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!); // the oldest entry
        cache.set(token, { sub: payload.sub, until: Math.min((payload.exp ?? 0) * 1000, now() + 60_000) });
      }
      return payload.sub;
    } catch {
      return null; // bad signature, expired, malformed: all mean "no valid credential"
    }
  };
  const authenticate = ((req: IncomingMessage) => {
    const token = requestToken(req);
    if (token === null) return null;
    // A remembered token answers synchronously: no promise, no timer, for the common case and for floods.
    const hit = cache.get(token);
    if (hit !== undefined && now() < hit.until) return hit.sub;
    return verify(token);
  }) as JwtAuthenticator;
  authenticate.verify = verify;
  return authenticate;
}
