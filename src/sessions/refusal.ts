/**
 * The cheap way to say no to an HTTP upgrade: one write of a short answer
 * on the raw socket, `connection: close`, then the socket is ended, and
 * destroyed a moment later if the client does not read its answer (a
 * refusal must never hold a descriptor for long).
 */
import { utf8Length } from './protocol.js';

/** What a refusal needs of a socket (a `node:net` socket or any `Duplex` fits); structural, so the types need no Node typings. */
export interface RefusableSocket {
  readonly destroyed: boolean;
  end(data: string): unknown;
  destroy(): unknown;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

/** How long a refused socket may linger, its answer unread, before it is destroyed. */
export const REFUSAL_LINGER_MS = 1000;

/** Answers an upgrade request with `status` and a JSON `{ error }` body, and closes the socket. Does nothing on a destroyed socket. */
export function refuseUpgrade(socket: RefusableSocket, status: number, reason: string, extra: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const body = `{"error":${JSON.stringify(reason)}}`;
  let headers = '';
  for (const name in extra) headers += `${name}: ${extra[name]}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${utf8Length(body)}\r\n${headers}\r\n${body}`);
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

