/**
 * Checking the URL a member advertises in `meta.url` before any connection
 * is made to it. Members come from the shared store, so a URL may be
 * anything: it is parsed once per (node, url), and a bad one is reported
 * and never connected to.
 */
import type { RingNode } from '../ring/types.js';

/** Where to open the tunnel for a member. */
export interface MemberTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The URL as advertised. */
  readonly url: string;
}

/** A member's URL, checked: a target, or the reason it cannot be used. */
export type MemberUrlCheck = { readonly ok: true; readonly target: MemberTarget } | { readonly ok: false; readonly reason: string };

/** Parses `node.meta.url`: it must be a `ws:` or `wss:` URL with a host, no credentials, and a port in 1-65535 (or the scheme's default). */
export function checkMemberUrl(node: RingNode): MemberUrlCheck {
  const raw = node.meta?.url;
  if (raw === undefined || raw === '') return { ok: false, reason: `member ${JSON.stringify(node.id)} has no meta.url` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: `member ${JSON.stringify(node.id)} has meta.url ${JSON.stringify(raw.slice(0, 200))}, which is not a URL` };
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return { ok: false, reason: `member ${JSON.stringify(node.id)} has meta.url ${JSON.stringify(raw.slice(0, 200))}: only ws: and wss: URLs are proxied to` };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: `member ${JSON.stringify(node.id)} has credentials in its meta.url: refused` };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') return { ok: false, reason: `member ${JSON.stringify(node.id)} has meta.url without a host` };
  const tls = url.protocol === 'wss:';
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  return { ok: true, target: { host, port, tls, url: raw } };
}

/** Remembers the last check per node, so a URL is parsed and a bad one reported once, not per connection. Bounded by the ring's size. */
export class MemberUrlCache {
  readonly #checks = new Map<string, { url: string | undefined; check: MemberUrlCheck }>();
  readonly #onBad: (reason: string, node: RingNode) => void;

  constructor(onBad: (reason: string, node: RingNode) => void) {
    this.#onBad = onBad;
  }

  check(node: RingNode): MemberUrlCheck {
    const cached = this.#checks.get(node.id);
    if (cached !== undefined && cached.url === node.meta?.url) return cached.check;
    const check = checkMemberUrl(node);
    if (this.#checks.size >= 4096) this.#checks.clear(); // far more than any ring: members that left
    this.#checks.set(node.id, { url: node.meta?.url, check });
    if (!check.ok) this.#onBad(check.reason, node);
    return check;
  }
}
