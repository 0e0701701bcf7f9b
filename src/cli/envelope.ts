/**
 * What travels between the gateway and a node, the same in both modes: a
 * short text header that names the recipients, then the body.
 *
 * ```
 * <id> <t> <n>\n        message id, send time (epoch ms, 3 decimals), recipient count
 * <recipient 1>\n
 * ...
 * <recipient n>\n
 * {"from":"user:7","text":"..."}   the body, as the client receives it
 * ```
 *
 * A node reads the header, looks each recipient up in its own sessions and
 * touches the body only when it holds one of them; it hands the body to the
 * session as it is, never parsing it (a chat server forwards the bytes to
 * the WebSocket). So a node that holds none of the recipients, which is
 * most of them under broadcast, stops after the header, and a message costs
 * what routing it costs, not what JSON costs.
 *
 * Recipient ids must not contain a line feed (the benchmark's ids are
 * `user:<n>`). `t` is written with a fixed width, so byte counts do not
 * depend on the clock.
 */

/** The id of the marker that ends a run on a channel. */
export const END_ID = -1;

/** The body of a message: the JSON its recipients' clients receive. User ids and texts are ASCII, so length is size in bytes. */
export function encodeBody(from: string, text: string): string {
  return `{"from":${JSON.stringify(from)},"text":${JSON.stringify(text)}}`;
}

/** A send time as the header writes it: epoch ms with three decimals. */
export function formatTime(t: number): string {
  return t.toFixed(3);
}

/**
 * Serializes an envelope.
 * @param time - the send time, from {@link formatTime}.
 * @param body - from {@link encodeBody}, shared by every envelope of one message.
 */
export function encodeEnvelope(id: number, time: string, to: readonly string[], body: string): string {
  let header = `${id} ${time} ${to.length}\n`;
  for (let i = 0; i < to.length; i++) header += `${to[i]!}\n`;
  return header + body;
}

/** The end-of-run marker. */
export function encodeEnd(time: string): string {
  return encodeEnvelope(END_ID, time, [], '');
}

/** A decoded header; one object is reused for every envelope a node decodes. */
export interface Header {
  id: number;
  /** Send time, epoch ms. */
  t: number;
  /** Where the recipients were written in the caller's array: `[from, to)`. */
  from: number;
  to: number;
  /** Offset of the body in the payload. */
  bodyStart: number;
}

/** A fresh {@link Header} to decode into. */
export function newHeader(): Header {
  return { id: 0, t: 0, from: 0, to: 0, bodyStart: 0 };
}

/**
 * Reads the header of `payload`: fills `header` and writes the recipients
 * into `recipients` from index `at` (so `header.from = at`). Trusts the
 * shape (both ends are this program) and never looks at the body.
 */
export function decodeHeader(payload: string, recipients: string[], at: number, header: Header): void {
  const sp1 = payload.indexOf(' ');
  const sp2 = payload.indexOf(' ', sp1 + 1);
  let nl = payload.indexOf('\n', sp2 + 1);
  header.id = Number(payload.slice(0, sp1));
  header.t = Number(payload.slice(sp1 + 1, sp2));
  const count = Number(payload.slice(sp2 + 1, nl));
  header.from = at;
  let pos = nl + 1;
  for (let k = 0; k < count; k++) {
    nl = payload.indexOf('\n', pos);
    recipients[at++] = payload.slice(pos, nl);
    pos = nl + 1;
  }
  header.to = at;
  header.bodyStart = pos;
}

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
