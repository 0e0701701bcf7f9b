/**
 * The cheap way to say no to an HTTP upgrade: one write of a short answer
 * on the raw socket, `connection: close`, then the socket is ended, and
 * destroyed a moment later if the client does not read its answer (a
 * refusal must never hold a descriptor for long).
 */
import type { Duplex } from 'node:stream';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

/** How long a refused socket may linger, its answer unread, before it is destroyed. */
export const REFUSAL_LINGER_MS = 1000;

/** Answers an upgrade request with `status` and a JSON `{ error }` body, and closes the socket. Does nothing on a destroyed socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, extra: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const body = `{"error":${JSON.stringify(reason)}}`;
  let headers = '';
  for (const name in extra) headers += `${name}: ${extra[name]}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}
