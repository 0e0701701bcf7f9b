/**
 * The one-step WebSocket connect: the client's upgrade request is replayed
 * to the owner over a fresh TCP (or TLS) connection and the two sockets are
 * piped, so the owner answers the handshake itself. Every step has an end:
 * the owner must answer (its first bytes) within `connectTimeoutMs` or the
 * client gets a 502; a tunnel silent in both directions for
 * `idleTimeoutMs` is closed; either side closing closes the other.
 */
import { connect as connectTcp } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { connect as connectTls } from 'node:tls';
import { isDescriptorExhaustion } from '../sessions/descriptors.js';
import { refuseUpgrade } from '../sessions/refusal.js';
import type { ClientHold } from './client-hold.js';
import type { MemberTarget } from './member-url.js';

export { refuseUpgrade };

/** Headers a client may not set on the hop to the node: they are the gateway's to write. */
const HOP_HEADERS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-real-ip']);

/** How a tunnel ended; `abandoned`: the client left before the owner answered. */
export type TunnelEnd = 'closed' | 'connect-failed' | 'connect-timeout' | 'idle' | 'abandoned' | 'descriptors';

export interface TunnelOptions {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Extra headers for the node (the gateway's own). */
  readonly headers: Readonly<Record<string, string>>;
  /** Called once when the owner answered (its first bytes) or the attempt ended: the upgrade is no longer in progress. */
  readonly onSettled: () => void;
  /** Called once when the tunnel ends, with why, and the connect error when there was one. */
  readonly onEnd: (how: TunnelEnd, error?: Error) => void;
  /** Called once when the connection to the owner is closed (its descriptor is free). */
  readonly onUpstreamClosed: () => void;
  /** Retry-After (seconds) for a 503 when the gateway is out of descriptors. */
  readonly retryAfterSeconds: () => number;
}

/**
 * Opens the tunnel from the client's socket (held by `hold` while the
 * upgrade was in progress) to `target`. A client that leaves before the
 * owner answered takes the connection to the owner with it at once.
 */
export function openTunnel(req: IncomingMessage, hold: ClientHold, target: MemberTarget, options: TunnelOptions): void {
  const socket = hold.socket;
  let ended = false;
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    options.onSettled();
  };
  const end = (how: TunnelEnd, error?: Error) => {
    settle();
    if (ended) return;
    ended = true;
    options.onEnd(how, error);
  };
  const upstream = target.tls ? connectTls({ host: target.host, port: target.port, servername: isIp(target.host) ? '' : target.host }) : connectTcp({ host: target.host, port: target.port });
  upstream.once('close', options.onUpstreamClosed);
  let answered = false;
  hold.onAbandon(() => {
    clearTimeout(timer);
    upstream.destroy();
    end('abandoned');
  });
  const timer = setTimeout(() => {
    if (answered) return;
    upstream.destroy();
    end('connect-timeout');
    refuseUpgrade(socket, 502, `the owner did not answer within ${options.connectTimeoutMs} ms`);
  }, options.connectTimeoutMs);
  upstream.on('error', (error: Error) => {
    clearTimeout(timer);
    if (answered) return void socket.destroy();
    if (ended) return;
    // Out of descriptors is this gateway's overload, not the owner's failure: 503, come back later.
    if (isDescriptorExhaustion(error)) {
      end('descriptors', error);
      return refuseUpgrade(socket, 503, 'the gateway is out of connections', { 'retry-after': String(options.retryAfterSeconds()) });
    }
    end('connect-failed', error);
    refuseUpgrade(socket, 502, 'the owner cannot be reached');
  });
  upstream.once(target.tls ? 'secureConnect' : 'connect', () => {
    if (upstream.destroyed) return;
    if ('setNoDelay' in upstream) upstream.setNoDelay(true);
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (HOP_HEADERS.has(lower) || lower in options.headers) continue;
      lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
    }
    for (const [name, value] of Object.entries(options.headers)) lines.push(`${name}: ${value}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
  upstream.once('data', (first: Buffer) => {
    if (hold.abandoned) return;
    answered = true;
    clearTimeout(timer);
    settle();
    const early = hold.release();
    for (const chunk of early) upstream.write(chunk);
    socket.write(first);
    upstream.pipe(socket);
    socket.pipe(upstream);
    socket.resume();
    // Idle in both directions (a WebSocket with keepalive pings is never idle).
    upstream.setTimeout(options.idleTimeoutMs, () => {
      end('idle');
      upstream.destroy();
      socket.destroy();
    });
    socket.once('close', () => {
      upstream.destroy();
      end('closed');
    });
  });
  upstream.once('close', () => {
    clearTimeout(timer);
    if (answered) {
      end('closed');
      socket.destroy();
    } else if (!ended) {
      end('connect-failed');
      refuseUpgrade(socket, 502, 'the owner closed the connection before answering');
    }
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
