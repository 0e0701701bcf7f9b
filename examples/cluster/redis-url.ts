/**
 * ioredis options for the example's Redis URL. Passwords and ACL users ride
 * in the URL (`redis://user:password@host:6379`; ioredis sends `AUTH user
 * password`), `rediss://` turns TLS on, and `RINGROUTE_REDIS_CA` names a PEM
 * file of the CA that signed the server's certificate (a private CA or a
 * self-signed certificate); the server's certificate is always verified.
 * The cluster example also takes a Redis Cluster as its nodes' URLs
 * separated by commas ({@link redisClusterTarget}).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** Why `value` cannot be the `--redis` URL of an example that runs on one Redis, or null when it can. */
export function redisUrlProblem(value: string): string | null {
  if (value.includes(',')) return `--redis takes one URL here, got a list (a Redis Cluster's URLs are for the cluster example, npm start -- --redis URL,URL,...)`;
  return /^rediss?:\/\/\S+$/.test(value) && parses(value) ? null : `--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`;
}

/** A Redis Cluster named by the URLs of some of its nodes: what an ioredis `Cluster` needs. */
export interface RedisClusterTarget {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** The options of the connections to each node: credentials (the same in every URL), TLS for `rediss://`. */
  readonly redisOptions: { maxRetriesPerRequest: number; username?: string; password?: string; tls?: ConnectionOptions };
}

/**
 * `--redis` of the cluster example: one URL (a single Redis), or two or more
 * separated by commas, the nodes of one Redis Cluster (any of its masters or
 * replicas; ioredis finds the others). The URLs must share their scheme and
 * their credentials (given in every URL that has any), name no database
 * other than 0 (a Cluster has one) and each a host. Resolves to the
 * Cluster's options, null for a single URL, or a one-line problem.
 */
export function redisClusterTarget(value: string): RedisClusterTarget | null | string {
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length === 1) return redisUrlProblem(value) ?? null;
  const empty = entries.findIndex((entry) => entry === '');
  if (empty >= 0) return `--redis has an empty entry (number ${empty + 1}) in its list of URLs, got ${JSON.stringify(value)}`;
  const urls: URL[] = [];
  for (const entry of entries) {
    const url = /^rediss?:\/\/\S+$/.test(entry) ? parse(entry) : null;
    if (url === null || url.hostname === '') return `--redis: ${JSON.stringify(entry)} is not a redis:// or rediss:// URL (a Redis Cluster is its nodes' URLs separated by commas)`;
    if (!/^\/?0?$/.test(url.pathname)) return `--redis: ${JSON.stringify(redactUrl(entry))} names database ${url.pathname.slice(1)}: a Redis Cluster has only database 0`;
    urls.push(url);
  }
  if (new Set(urls.map((url) => url.protocol)).size > 1) return '--redis mixes redis:// and rediss:// URLs: the nodes of one Redis Cluster take one scheme';
  const credentials = new Set(urls.filter((url) => url.username !== '' || url.password !== '').map((url) => `${url.username}:${url.password}`));
  if (credentials.size > 1) return '--redis URLs carry different users or passwords: the nodes of one Redis Cluster share them (give them in every URL, or in one)';
  const first = urls.find((url) => url.username !== '' || url.password !== '');
  const tls = urls[0]!.protocol === 'rediss:';
  const base = redisOptions(tls ? 'rediss://' : 'redis://');
  return {
    nodes: urls.map((url) => ({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 6379 : Number(url.port) })),
    redisOptions: {
      ...base,
      ...(first !== undefined && first.username !== '' ? { username: decodeURIComponent(first.username) } : {}),
      ...(first !== undefined && first.password !== '' ? { password: decodeURIComponent(first.password) } : {}),
    },
  };
}

function parse(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function parses(value: string): boolean {
  return parse(value) !== null;
}

export function redisOptions(url: string): { maxRetriesPerRequest: number; tls?: ConnectionOptions } {
  if (!url.startsWith('rediss://')) return { maxRetriesPerRequest: 2 };
  const caFile = process.env.RINGROUTE_REDIS_CA;
  return { maxRetriesPerRequest: 2, tls: { rejectUnauthorized: true, ...(caFile ? { ca: readFileSync(caFile) } : {}) } };
}

/** The URL (or each URL of a comma-separated list) with its password hidden, for printing. */
export function redactUrl(url: string): string {
  if (url.includes(',')) return url.split(',').map((entry) => redactUrl(entry.trim())).join(',');
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}
