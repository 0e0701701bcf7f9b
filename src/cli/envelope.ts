/**
 * What travels between the gateway and a node: one JSON object per message
 * and target, as a chat server would put on the wire.
 *
 * `t` is the send time in epoch milliseconds with three decimals, written
 * with a fixed width so that byte counts do not depend on the clock.
 */
export interface Envelope {
  /** Message id; {@link END_ID} marks the end of a run on a channel. */
  readonly id: number;
  readonly from: string;
  /** Recipients this target should check: every recipient (broadcast) or the ones it owns (hash). */
  readonly to: readonly string[];
  /** Send time, epoch ms. */
  readonly t: number;
  readonly text: string;
}

/** The id of the marker that ends a run on a channel. */
export const END_ID = -1;

/** Serializes an envelope. User ids and texts are ASCII, so the string's length is its size in bytes. */
export function encodeEnvelope(id: number, from: string, to: readonly string[], t: number, text: string): string {
  return `{"id":${id},"from":${JSON.stringify(from)},"to":${JSON.stringify(to)},"t":${t.toFixed(3)},"text":${JSON.stringify(text)}}`;
}

/** Parses an envelope, trusting its shape (both ends are this program). */
export function decodeEnvelope(payload: string): Envelope {
  return JSON.parse(payload) as Envelope;
}

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
