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
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import type { MemberTarget } from './member-url.js';

/** Headers a client may not set on the hop to the node: they are the gateway's to write. */
const HOP_HEADERS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-real-ip']);

export interface TunnelOptions {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Extra headers for the node (the gateway's own). */
  readonly headers: Readonly<Record<string, string>>;
  /** Called once when the tunnel ends, with why. */
  readonly onEnd: (how: 'closed' | 'connect-failed' | 'connect-timeout' | 'idle') => void;
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, extra: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: reason });
  const headers = Object.entries(extra).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  // A client that does not read its answer must not keep the socket: end() then a hard stop.
  setTimeout(() => socket.destroy(), 1000).unref();
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

/** Opens the tunnel from `socket` (the client's, upgrade pending) to `target`. */
export function openTunnel(req: IncomingMessage, socket: Duplex, head: Buffer, target: MemberTarget, options: TunnelOptions): void {
  let ended = false;
  const end = (how: Parameters<TunnelOptions['onEnd']>[0]) => {
    if (ended) return;
    ended = true;
    options.onEnd(how);
  };
  socket.pause(); // bytes the client sends early wait for the owner
  const upstream = target.tls ? connectTls({ host: target.host, port: target.port, servername: isIp(target.host) ? '' : target.host }) : connectTcp({ host: target.host, port: target.port });
  let answered = false;
  const timer = setTimeout(() => {
    if (answered) return;
    upstream.destroy();
    end('connect-timeout');
    refuseUpgrade(socket, 502, `the owner did not answer within ${options.connectTimeoutMs} ms`);
  }, options.connectTimeoutMs);
  upstream.on('error', () => {
    clearTimeout(timer);
    if (!answered) {
      end('connect-failed');
      refuseUpgrade(socket, 502, 'the owner cannot be reached');
    } else socket.destroy();
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
    if (head.length > 0) upstream.write(head);
  });
  upstream.once('data', (first: Buffer) => {
    answered = true;
    clearTimeout(timer);
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
  socket.once('close', () => {
    clearTimeout(timer);
    upstream.destroy();
    end('closed');
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
