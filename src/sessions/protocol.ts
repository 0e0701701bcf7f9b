/**
 * The wire protocol between an app node (`ringroute/sessions`) and a client
 * (`ringroute/client`), shared by both sides. No Node-only imports: the
 * browser client imports it. Documented in `docs/sessions.md`.
 *
 * Every frame is one JSON text message with a `t` (type) field.
 *
 * Node to client: `{"t":"welcome","v":1,"node":"<id>"}` once after attach;
 * `{"t":"msg","id":"<message id>","data":"<payload>"}` a message to
 * acknowledge; `{"t":"ping"}` keepalive; `{"t":"move","code":4001,"node":"<id>","url":"<url>"}`
 * just before a close that sends the client elsewhere.
 *
 * Client to node: `{"t":"ack","id":"<message id>"}` and `{"t":"pong"}`.
 */

/** Version of this protocol, sent in `welcome`. A client refuses a node with another major version. */
export const PROTOCOL_VERSION = 1;

/**
 * WebSocket close codes a node uses (private-use range 4000-4999). Each one
 * that sends the client elsewhere comes with a `move` frame, and with
 * `{"node":"<id>","url":"<url>"}` as the close reason when that fits in the
 * 123 bytes a close reason may have.
 */
export const CloseCode = {
  /** The ring changed and the key now belongs to the named node: reconnect there. */
  MOVED: 4001,
  /** Attach refused: this node does not own the key; the owner is named. */
  WRONG_NODE: 4002,
  /** The socket's send buffer passed the node's limit (or too many unacknowledged messages). Reconnect with backoff. */
  SLOW_CONSUMER: 4003,
  /** No frame (not even a pong) within the keepalive timeout. */
  TIMEOUT: 4004,
  /** The node is shutting down; the key's owner is named when one is known. */
  SHUTDOWN: 4005,
  /** The ring is empty: nobody owns the key yet. Reconnect with backoff. */
  NO_OWNER: 4006,
  /** The client sent a frame the node does not understand. */
  PROTOCOL_ERROR: 4008,
} as const;

/** One of {@link CloseCode}'s values. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Frames a node sends. */
export type NodeFrame =
  | { readonly t: 'welcome'; readonly v: number; readonly node: string }
  | { readonly t: 'msg'; readonly id: string; readonly data: string }
  | { readonly t: 'ping' }
  | { readonly t: 'move'; readonly code: number; readonly node: string; readonly url: string };

/** Frames a client sends. */
export type ClientFrame = { readonly t: 'ack'; readonly id: string } | { readonly t: 'pong' };

/** Where a moved or refused client should go. `url` is '' when the owner has no `meta.url`. */
export interface MoveTarget {
  readonly node: string;
  readonly url: string;
}

/** Longest frame a client may send, in UTF-16 code units; longer ones close the session with PROTOCOL_ERROR. */
export const MAX_CLIENT_FRAME = 1024;
/** Longest message id, in UTF-16 code units. */
export const MAX_MESSAGE_ID = 256;

export const PING_FRAME = '{"t":"ping"}';
export const PONG_FRAME = '{"t":"pong"}';

/** The `msg` frame for message `id` with `data`, built without an intermediate object (a hot path). */
export function messageFrame(id: string, data: string): string {
  return `{"t":"msg","id":${JSON.stringify(id)},"data":${JSON.stringify(data)}}`;
}

export function welcomeFrame(node: string): string {
  return JSON.stringify({ t: 'welcome', v: PROTOCOL_VERSION, node });
}

export function moveFrame(code: number, target: MoveTarget): string {
  return JSON.stringify({ t: 'move', code, node: target.node, url: target.url });
}

export function ackFrame(id: string): string {
  return `{"t":"ack","id":${JSON.stringify(id)}}`;
}

/** The close reason naming `target`, or a bare word when the JSON would pass the 123-byte limit of close reasons. */
export function closeReason(target: MoveTarget | null, word: string): string {
  if (target === null) return word;
  const json = JSON.stringify({ node: target.node, url: target.url });
  return utf8Length(json) <= 123 ? json : word;
}

/** Reads a close reason written by {@link closeReason}; null when it names no target. */
export function parseCloseReason(reason: string): MoveTarget | null {
  if (!reason.startsWith('{')) return null;
  try {
    const value = JSON.parse(reason) as Partial<MoveTarget>;
    return typeof value.node === 'string' && typeof value.url === 'string' ? { node: value.node, url: value.url } : null;
  } catch {
    return null;
  }
}

/** A client frame, or null when `text` is not one. */
export function parseClientFrame(text: string): ClientFrame | null {
  if (text.length > MAX_CLIENT_FRAME) return null;
  // The ack is by far the most common frame: read it without JSON.parse when it has the exact shape ackFrame() writes.
  if (text.startsWith('{"t":"ack","id":"') && text.endsWith('"}')) {
    const id = text.slice(17, -2);
    if (id.indexOf('"') === -1 && id.indexOf('\\') === -1) return id.length > 0 ? { t: 'ack', id } : null;
  }
  const value = parseObject(text);
  if (value === null) return null;
  const frame = value as { t?: unknown; id?: unknown };
  if (frame.t === 'pong') return { t: 'pong' };
  if (frame.t === 'ack' && typeof frame.id === 'string' && frame.id.length > 0 && frame.id.length <= MAX_MESSAGE_ID) return { t: 'ack', id: frame.id };
  return null;
}

/** `text` parsed as JSON when that gives an object (callers check its fields), else null. */
export function parseObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
}

/** A node frame, or null when `text` is not one. */
export function parseNodeFrame(text: string): NodeFrame | null {
  const value = parseObject(text);
  if (value === null) return null;
  const f = value as Record<string, unknown>;
  switch (f.t) {
    case 'msg':
      return typeof f.id === 'string' && typeof f.data === 'string' ? { t: 'msg', id: f.id, data: f.data } : null;
    case 'ping':
      return { t: 'ping' };
    case 'welcome':
      return typeof f.v === 'number' && typeof f.node === 'string' ? { t: 'welcome', v: f.v, node: f.node } : null;
    case 'move':
      return typeof f.code === 'number' && typeof f.node === 'string' && typeof f.url === 'string' ? { t: 'move', code: f.code, node: f.node, url: f.url } : null;
    default:
      return null;
  }
}

/** Bytes of `text` in UTF-8, without Buffer (this module also runs in browsers). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
