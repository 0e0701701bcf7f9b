/**
 * The example's credentials: user tokens are HS256 JWTs (`sub` = user id,
 * `exp` required) signed with the cluster's secret, verified by
 * `ringroute/gateway`'s createJwtAuthenticator on the gateways and the app
 * nodes; the admin endpoints take a separate random admin token as
 * `Authorization: Bearer <token>`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignJWT } from 'jose';

/** A fresh random secret (base64url of 32 bytes), for a run that was given none. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Signs user tokens with the cluster's secret. */
export class TokenSigner {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** A token for `user`, valid `ttlSec` seconds. */
  sign(user: string, ttlSec = 3600): Promise<string> {
    return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec).sign(this.#key);
  }
}

/** Whether `req` carries `Authorization: Bearer <adminToken>` (compared in constant time). */
export function isAdmin(req: IncomingMessage, adminToken: string): boolean {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (match === null) return false;
  const given = Buffer.from(match[1]!);
  const want = Buffer.from(adminToken);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Secrets shorter than this are refused: HS256 with a short secret can be brute-forced offline from one token. */
export const MIN_SECRET_LENGTH = 32;
