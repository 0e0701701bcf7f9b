/**
 * ioredis options for the example's Redis URL. Passwords and ACL users ride
 * in the URL (`redis://user:password@host:6379`; ioredis sends `AUTH user
 * password`), `rediss://` turns TLS on, and `RINGROUTE_REDIS_CA` names a PEM
 * file of the CA that signed the server's certificate (a private CA or a
 * self-signed certificate); the server's certificate is always verified.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** Why `value` cannot be the example's `--redis` URL, or null when it can. */
export function redisUrlProblem(value: string): string | null {
  return /^rediss?:\/\/\S+$/.test(value) ? null : `--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`;
}

export function redisOptions(url: string): { maxRetriesPerRequest: number; tls?: ConnectionOptions } {
  if (!url.startsWith('rediss://')) return { maxRetriesPerRequest: 2 };
  const caFile = process.env.RINGROUTE_REDIS_CA;
  return { maxRetriesPerRequest: 2, tls: { rejectUnauthorized: true, ...(caFile ? { ca: readFileSync(caFile) } : {}) } };
}

/** The URL with its password hidden, for printing. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}
