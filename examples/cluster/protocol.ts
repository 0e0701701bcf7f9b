/**
 * What the example's parts agree on beyond ringroute's own wire protocol
 * (docs/sessions.md): the routing modes and handoff strategies it compares,
 * the payload of a chat message, and which user ids it accepts.
 */

/** How the gateway sends a message to the nodes. */
export type Mode = 'broadcast' | 'hash';
/** What app nodes do with their sessions when the ring changes. */
export type Strategy = 'reconnect-all' | 'selective';
/** One-to-one or group traffic. */
export type TrafficKind = 'oneToOne' | 'group';

export const MODES: readonly Mode[] = ['broadcast', 'hash'];
export const STRATEGIES: readonly Strategy[] = ['reconnect-all', 'selective'];

/** How long a message may wait for its recipient (held by the new owner) before it is reported failed. */
export const DEFAULT_GRACE_MS = 10_000;

/** A chat message as the `data` of a ringroute message (JSON). */
export interface ChatPayload {
  readonly kind: TrafficKind;
  readonly from: string;
  readonly group?: string;
  readonly text: string;
}

/** A user id the example accepts: short, printable, no separators that would need escaping. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.:-]{1,64}$/.test(value);
}
