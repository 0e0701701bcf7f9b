/**
 * What the session table needs from a connection. A `ws` WebSocket fits as
 * is; for other servers wrap the socket (see docs/sessions.md for
 * uWebSockets.js and Socket.IO).
 */
export interface SessionSocket {
  /** Queues a text frame. May throw when the socket is no longer open (the message then counts as not written). */
  send(data: string): void;
  /** Starts the closing handshake with a WebSocket close code and a reason of at most 123 bytes. */
  close(code: number, reason: string): void;
  /** Bytes queued but not yet sent: how far behind the client is. */
  readonly bufferedAmount: number;
}
