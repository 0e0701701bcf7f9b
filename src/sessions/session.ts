import type { Parcel } from './parcel.js';
import type { SessionSocket } from './socket.js';

/** What a {@link Session} reports to its node. */
export interface SessionHost {
  /** A frame arrived from the client. */
  frame(session: Session, text: string): void;
  /** The socket closed (or the node closed it): its unacknowledged messages must go on. */
  detached(session: Session): void;
}

const decoder = new TextDecoder();

/**
 * One attached connection of a key, as returned by `SessionNode.attach`.
 * Feed it the socket's frames with {@link Session.receive} and tell it when
 * the socket closed with {@link Session.detach}.
 */
export class Session {
  /** The routing key (user id) it is attached under. */
  readonly key: string;
  /** The connection. */
  readonly socket: SessionSocket;
  /** @internal */
  readonly host: SessionHost;
  /** @internal Messages written and not acknowledged yet, by id; created on first use (idle sessions stay small). */
  inflight: Map<string, Parcel> | undefined = undefined;
  /** @internal Last time (ms, the node's clock) a frame arrived. */
  lastSeen: number;
  /** @internal When the pending keepalive ping went out, 0 when none is pending. */
  pingSentAt = 0;
  #detached = false;

  /** @internal */
  constructor(key: string, socket: SessionSocket, host: SessionHost, now: number) {
    this.key = key;
    this.socket = socket;
    this.host = host;
    this.lastSeen = now;
  }

  /** Whether the session was detached (closed). */
  get detached(): boolean {
    return this.#detached;
  }

  /** Hands a frame the socket received to the node (a string, Buffer, ArrayBuffer or Buffer[] as `ws` gives them). */
  receive(data: unknown): void {
    if (this.#detached) return;
    let text: string;
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = decoder.decode(data as ArrayBuffer);
    else if (Array.isArray(data)) text = data.map((part: ArrayBuffer) => decoder.decode(part)).join('');
    else text = String(data);
    this.host.frame(this, text);
  }

  /** Call when the socket closed. Its unacknowledged messages are held or forwarded. Idempotent. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.host.detached(this);
  }

  /** @internal Closes the socket with `code` and detaches. */
  close(code: number, reason: string): void {
    if (this.#detached) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closed: detaching is all that is left
    }
    this.detach();
  }
}
