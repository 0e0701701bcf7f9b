import { MessageType } from 'socket.io-adapter';
import { decode } from './codec.js';

/** ringroute's own message types, beside socket.io-adapter's {@link MessageType}s. */
export const HOLD = 100;
/** A node no longer holds sockets in the listed keyed rooms. */
export const UNHOLD = 101;

/** Options of a broadcast-like operation, as they travel. */
export interface WireOptions {
  rooms: string[];
  except: string[];
  flags: Record<string, unknown>;
}

/**
 * A message between adapters: socket.io-adapter's cluster message, plus the
 * sender's ring node id (`node`), and for messages routed to a key's owner an
 * id (`id`, to drop a copy that arrives twice) and how many times it was
 * forwarded (`f`). Responses may list the nodes the responder forwarded the
 * request to (`data.fw`), so the requester waits for them too.
 */
export interface WireMessage {
  uid: string;
  nsp: string;
  type: number;
  node: string;
  id?: string;
  f?: number;
  data?: Record<string, unknown>;
}

const KNOWN_TYPES = new Set<number>([...Object.values(MessageType).filter((v): v is number => typeof v === 'number'), HOLD, UNHOLD]);
const MAX_ID = 64;
const MAX_NAME = 1024;

const isString = (value: unknown, max = MAX_NAME): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkOptions(opts: unknown): string | undefined {
  if (!isRecord(opts)) return 'data.opts must be an object';
  if (!isStrings(opts.rooms) || !isStrings(opts.except)) return 'data.opts.rooms and data.opts.except must be arrays of strings';
  if (opts.flags !== undefined && !isRecord(opts.flags)) return 'data.opts.flags must be an object';
  return undefined;
}

/** What is wrong with `data` for a message of `type`, or undefined. */
function checkData(type: number, data: Record<string, unknown> | undefined): string | undefined {
  switch (type) {
    case MessageType.INITIAL_HEARTBEAT:
    case MessageType.HEARTBEAT:
    case MessageType.ADAPTER_CLOSE:
      return undefined;
  }
  if (!KNOWN_TYPES.has(type)) return `unknown message type ${String(type)}`;
  if (data === undefined) return 'data is missing';
  const requestId = data.requestId;
  const needsRequest = (): string | undefined => (isString(requestId, MAX_ID) ? undefined : 'data.requestId must be a string');
  const fw = data.fw === undefined || isStrings(data.fw) ? undefined : 'data.fw must be an array of strings';
  switch (type) {
    case MessageType.BROADCAST:
      if (!isRecord(data.packet)) return 'data.packet must be an object';
      if (requestId !== undefined && !isString(requestId, MAX_ID)) return 'data.requestId must be a string';
      return checkOptions(data.opts);
    case MessageType.SOCKETS_JOIN:
    case MessageType.SOCKETS_LEAVE:
      return checkOptions(data.opts) ?? (isStrings(data.rooms) ? undefined : 'data.rooms must be an array of strings');
    case MessageType.DISCONNECT_SOCKETS:
      return checkOptions(data.opts) ?? (typeof data.close === 'boolean' ? undefined : 'data.close must be a boolean');
    case MessageType.FETCH_SOCKETS:
      return checkOptions(data.opts) ?? needsRequest();
    case MessageType.FETCH_SOCKETS_RESPONSE:
      return needsRequest() ?? fw ?? (Array.isArray(data.sockets) && data.sockets.every(isRecord) ? undefined : 'data.sockets must be an array of objects');
    case MessageType.SERVER_SIDE_EMIT:
      if (requestId !== undefined && !isString(requestId, MAX_ID)) return 'data.requestId must be a string';
      return Array.isArray(data.packet) ? undefined : 'data.packet must be an array';
    case MessageType.SERVER_SIDE_EMIT_RESPONSE:
    case MessageType.BROADCAST_ACK:
      return needsRequest();
    case MessageType.BROADCAST_CLIENT_COUNT:
      return needsRequest() ?? fw ?? (Number.isSafeInteger(data.clientCount) && (data.clientCount as number) >= 0 ? undefined : 'data.clientCount must be a count');
    case HOLD:
    case UNHOLD:
      return isStrings(data.rooms) ? undefined : 'data.rooms must be an array of strings';
    default:
      return `unknown message type ${String(type)}`;
  }
}

/** Parses a transport message; returns why it is not a valid message instead of throwing. */
export function parseMessage(text: string, maxBytes: number): WireMessage | string {
  // UTF-16 length is at most the byte length, and a cheap first bound.
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when that could matter.
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes)) return `message of ${Buffer.byteLength(text)} bytes is over maxMessageBytes (${maxBytes})`;
  let value: unknown;
  try {
    value = decode(text);
  } catch {
    return 'message is not JSON';
  }
  if (!isRecord(value)) return 'message is not an object';
  const { uid, nsp, type, node, id, f, data } = value;
  if (!isString(uid, MAX_ID)) return 'uid must be a string of 1 to 64 characters';
  if (typeof nsp !== 'string' || nsp.length > MAX_NAME) return 'nsp must be a string';
  if (!Number.isSafeInteger(type)) return 'type must be an integer';
  if (!isString(node)) return 'node must be a string of 1 to 1024 characters';
  if (id !== undefined && !isString(id, MAX_ID)) return 'id must be a string of 1 to 64 characters';
  if (f !== undefined && f !== 1 && f !== 2) return 'f must be 1 or 2';
  if (data !== undefined && !isRecord(data)) return 'data must be an object';
  const problem = checkData(type as number, data as Record<string, unknown> | undefined);
  if (problem !== undefined) return problem;
  return value as unknown as WireMessage;
}
