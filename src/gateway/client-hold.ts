/**
 * The client's socket while its upgrade is in progress (queued for a slot,
 * authenticated, proxied to the owner). Node hands over an upgrade socket
 * that nothing reads, and an HTTP server's sockets are half-open: a client
 * that gives up (FIN) would go unnoticed until the owner answered, holding
 * an admission slot and a connection to the owner for a full handshake.
 * The hold reads the socket instead: bytes that come early are kept (up to
 * a bound) for the owner, and the end of the client's side or its close
 * abandons the upgrade at once.
 */
import type { Duplex } from 'node:stream';

/** Bytes a client may send before its upgrade is answered (a WebSocket client sends none); more destroys the socket. */
export const MAX_EARLY_BYTES = 64 * 1024;

export class ClientHold {
  readonly socket: Duplex;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #abandoned = false;
  #released = false;
  #onAbandon: (() => void) | null = null;
  readonly #data = (chunk: Buffer): void => {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_EARLY_BYTES) return void this.socket.destroy();
    this.#chunks.push(chunk);
  };
  readonly #gone = (): void => {
    if (this.#released || this.#abandoned) return;
    this.#abandoned = true;
    this.socket.destroy(); // a half-open socket would otherwise stay
    this.#onAbandon?.();
  };

  constructor(socket: Duplex, head: Buffer) {
    this.socket = socket;
    if (head.length > 0) this.#data(head);
    socket.on('data', this.#data);
    socket.once('end', this.#gone);
    socket.once('close', this.#gone);
  }

  /** True once the client left (FIN or close) before the upgrade was answered. */
  get abandoned(): boolean {
    return this.#abandoned || this.socket.destroyed;
  }

  /** Called once when the client leaves before {@link ClientHold.release}; called at once when it already has. */
  onAbandon(callback: () => void): void {
    this.#onAbandon = callback;
    if (this.abandoned && !this.#released) callback();
  }

  /** Stops watching and returns the early bytes; the socket is paused for whoever takes it over. */
  release(): Buffer[] {
    this.#released = true;
    this.socket.off('data', this.#data);
    this.socket.off('end', this.#gone);
    this.socket.off('close', this.#gone);
    this.socket.pause();
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks;
  }
}
