import type { IncomingMessage } from 'node:http';

/**
 * Who is calling: the caller's user id, or `null`/`undefined` when the
 * request carries no valid credential. A rejection counts as "no valid
 * credential" too (401), and is reported on the gateway's `error` event
 * unless it is an {@link AuthenticationError}.
 */
export type Authenticate = (req: IncomingMessage) => string | null | undefined | Promise<string | null | undefined>;

/** Thrown by an {@link Authenticate} hook for a credential it refuses: answered 401, not reported as an error. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

/**
 * The credential of a request: `Authorization: Bearer <token>`, or on a
 * WebSocket upgrade (browsers cannot set headers there) the `token` query
 * parameter. Plain HTTP requests must use the header, so tokens stay out of
 * access logs of ordinary requests.
 */
export function requestToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  if (req.headers.upgrade === undefined) return null;
  try {
    return new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  } catch {
    return null;
  }
}
