/**
 * How Envoy hashes a request (its route or load balancer `hash_policy`), and
 * the ring keys that stand for those hashes. Pure.
 */
import { RingError, describe } from '../../errors.js';
import { keyBytes } from '../key-bytes.js';
import { xxh64, xxh64Result } from './xxh64.js';

/**
 * One entry of Envoy's `hash_policy`, in order. Envoy skips an entry whose
 * value is missing; `terminal` stops at this entry if a hash exists by then.
 * - `{ header }`: every value of the header, sorted, hashed as Envoy does
 *   (one value: xxHash64 of it); `':path'` is the request path. With
 *   `regexRewrite`, each value is rewritten first (every match replaced).
 * - `{ cookie }`: the cookie's value, when present and not empty (a policy
 *   with a `ttl`, where Envoy generates the cookie, is not reproduced).
 * - `{ queryParameter }`: the first value of the parameter in the path's
 *   query string, not percent-decoded (`?u` alone is the empty value).
 * - `{ sourceIp: true }`: the client's IP address, without port.
 */
export type EnvoyHashPolicy =
  | { readonly header: string; readonly regexRewrite?: EnvoyRegexRewrite; readonly terminal?: boolean }
  | { readonly cookie: string; readonly terminal?: boolean }
  | { readonly queryParameter: string; readonly terminal?: boolean }
  | { readonly sourceIp: true; readonly terminal?: boolean };

/**
 * A header policy's `regex_rewrite`: every match of `pattern` replaced by
 * `substitution`, where `\\1` names a capture group as in RE2. The pattern
 * runs as a JavaScript regular expression, which agrees with RE2 on the
 * usual syntax (no lookaround or backreference, which RE2 refuses anyway).
 */
export interface EnvoyRegexRewrite {
  readonly pattern: string;
  readonly substitution: string;
}

/** The parts of a request Envoy's hash policies read (a Node `IncomingMessage` fits: `{ headers: req.headers, path: req.url }`). */
export interface EnvoyRequest {
  /** Headers by name, in any case: one value or several. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
  /** Path with query string, as the client sent it (`/ws?user=42`). */
  readonly path?: string | undefined;
  /** The client's IP address, without port. */
  readonly sourceIp?: string | undefined;
}

/**
 * Marks a key that stands for a hash combined from several values. HTTP
 * forbids NUL in header values, cookies and request targets, so no plain key
 * (a value Envoy hashes as it is) can start with it.
 */
const COMBINED = '\u0000envoy:';

/** Checks `policies` and returns a copy. */
export function checkHashPolicy(policies: unknown): readonly EnvoyHashPolicy[] {
  if (!Array.isArray(policies) || policies.length === 0) {
    throw new RingError('INVALID_OPTION', `hashPolicy must be a non-empty array such as [{ header: "x-user-id" }], got ${describe(policies)}`);
  }
  return policies.map((p: unknown, i) => {
    const q = p as Record<string, unknown> | null;
    const kinds = q === null || typeof q !== 'object' ? [] : ['header', 'cookie', 'queryParameter', 'sourceIp'].filter((k) => q[k] !== undefined);
    const rewrite = q?.regexRewrite as Partial<EnvoyRegexRewrite> | undefined;
    if (rewrite !== undefined) {
      const valid = kinds[0] === 'header' && typeof rewrite === 'object' && rewrite !== null && typeof rewrite.pattern === 'string' && typeof rewrite.substitution === 'string';
      if (valid) {
        try {
          new RegExp(rewrite.pattern, 'gu');
        } catch (error) {
          throw new RingError('INVALID_OPTION', `hashPolicy[${i}].regexRewrite.pattern is not a valid regular expression: ${(error as Error).message}`);
        }
      } else {
        throw new RingError('INVALID_OPTION', `hashPolicy[${i}].regexRewrite must be { pattern, substitution } on a header policy, got ${describe(rewrite)}`);
      }
    }
    const ok =
      kinds.length === 1 &&
      (q!.terminal === undefined || typeof q!.terminal === 'boolean') &&
      (kinds[0] === 'sourceIp' ? q!.sourceIp === true : typeof q![kinds[0]!] === 'string' && q![kinds[0]!] !== '');
    if (!ok) {
      throw new RingError('INVALID_OPTION', `hashPolicy[${i}] must be one of { header }, { cookie }, { queryParameter } (non-empty names) or { sourceIp: true }, with an optional boolean terminal; got ${describe(p)}`);
    }
    return Object.freeze({ ...(q as object) }) as EnvoyHashPolicy;
  });
}

/** UTF-8 byte order, as Envoy's `std::sort` of header values. */
function byBytes(a: string, b: string): number {
  const x = Buffer.from(keyBytes(a));
  return x.compare(keyBytes(b));
}

function headerValues(request: EnvoyRequest, name: string): string[] {
  const lower = name.toLowerCase();
  if (lower === ':path') return request.path === undefined ? [] : [request.path];
  const headers = request.headers ?? {};
  let value = headers[lower];
  if (value === undefined) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) value = headers[k];
  }
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

function cookieValue(request: EnvoyRequest, name: string): string | undefined {
  for (const header of headerValues(request, 'cookie')) {
    for (const part of header.split(';')) {
      const pair = part.trimStart();
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq) !== name) continue;
      let value = pair.slice(eq + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
  }
  return undefined;
}

function queryValue(request: EnvoyRequest, name: string): string | undefined {
  const path = request.path ?? '';
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const param of path.slice(q + 1).split('&')) {
    const eq = param.indexOf('=');
    if ((eq < 0 ? param : param.slice(0, eq)) === name) return eq < 0 ? '' : param.slice(eq + 1);
  }
  return undefined;
}

/** The values one policy hashes (empty when Envoy would skip it). */
function policyValues(policy: EnvoyHashPolicy, request: EnvoyRequest): string[] {
  if ('header' in policy) {
    const values = headerValues(request, policy.header);
    const rewrite = policy.regexRewrite;
    if (rewrite === undefined) return values.sort(byBytes);
    // RE2's \1 is JavaScript's $1; a literal $ must not be read as one.
    const replacement = rewrite.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
    const re = new RegExp(rewrite.pattern, 'gu');
    return values.map((v) => v.replace(re, replacement)).sort(byBytes);
  }
  if ('cookie' in policy) {
    const v = cookieValue(request, policy.cookie);
    return v === undefined || v === '' ? [] : [v];
  }
  if ('queryParameter' in policy) {
    const v = queryValue(request, policy.queryParameter);
    return v === undefined ? [] : [v];
  }
  return request.sourceIp === undefined || request.sourceIp === '' ? [] : [request.sourceIp];
}

/**
 * The ring key of a request under `policies`: a key whose hash is the hash
 * Envoy computes for the request, or `undefined` when no policy yields a
 * value (Envoy then picks a host at random). When one policy yields one
 * value, the key is that value itself (`x-user-id: alice` gives `"alice"`), so
 * app nodes keyed by user id look up the same key; otherwise a combined key.
 */
export function envoyRequestKey(policies: readonly EnvoyHashPolicy[], request: EnvoyRequest): string | undefined {
  const parts: string[][] = [];
  for (const policy of policies) {
    const values = policyValues(policy, request);
    if (values.length > 0) parts.push(values);
    if (policy.terminal === true && parts.length > 0) break;
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1 && parts[0]!.length === 1 && !parts[0]![0]!.startsWith(COMBINED)) return parts[0]![0];
  return COMBINED + JSON.stringify(parts);
}

/** The 64-bit hash of a ring key: high 32 bits returned, low 32 bits in `xxh64Result.lo` (both unsigned). */
export function envoyKeyHash(key: string): number {
  if (key.charCodeAt(0) !== 0 || !key.startsWith(COMBINED)) return xxh64(key);
  let parts: unknown;
  try {
    parts = JSON.parse(key.slice(COMBINED.length));
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((p) => Array.isArray(p) && p.length > 0 && p.every((v) => typeof v === 'string'))) {
    // Not one of ours: hash it as a value.
    return xxh64(key);
  }
  let hi = 0;
  let lo = 0;
  let first = true;
  for (const values of parts as string[][]) {
    // Several values of one header: each hashed with the previous hash as seed (Envoy's HashUtil::xxHash64(span)).
    let vh = 0;
    let vl = 0;
    for (const v of values) {
      vh = xxh64(v, vh, vl);
      vl = xxh64Result.lo;
    }
    if (first) {
      hi = vh;
      lo = vl;
      first = false;
    } else {
      // Rotate the hash so far left by one bit, then XOR (so two equal policies do not cancel out).
      const rh = ((hi << 1) | (lo >>> 31)) >>> 0;
      const rl = ((lo << 1) | (hi >>> 31)) >>> 0;
      hi = (rh ^ vh) >>> 0;
      lo = (rl ^ vl) >>> 0;
    }
  }
  xxh64Result.lo = lo;
  return hi;
}
