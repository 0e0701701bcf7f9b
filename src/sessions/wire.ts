/**
 * Messages between nodes and senders over a {@link Transport}: a delivery
 * for some keys, and the outcome for one key. JSON, validated on receipt
 * (a transport is shared infrastructure: a bad message is reported, never
 * trusted).
 */
import type { DeliveryOutcome } from './outcome.js';
import { isStatus } from './outcome.js';
import { MAX_MESSAGE_ID, parseObject } from './protocol.js';

/** Transport address of a node. */
export const nodeAddress = (id: string): string => `node:${id}`;
/** Transport address of a sender (a {@link Dispatcher}, or a node's own deliveries). */
export const senderAddress = (id: string): string => `sender:${id}`;
/** Transport address every node listens at: broadcast mode. */
export const BROADCAST_ADDRESS = 'all';

/** A delivery for `keys`, published to a node or to every node. */
export interface DeliverWire {
  readonly t: 'd';
  readonly id: string;
  /** Address that waits for the outcomes. */
  readonly from: string;
  readonly keys: readonly string[];
  readonly data: string;
  /** Node-to-node forwards so far. */
  readonly hops: number;
  /** Time left, in ms, from publication (relative: clocks of processes never matter). */
  readonly ttl: number;
  /** 1 when some node already wrote it to a socket: it can no longer be reported `failed`. */
  readonly w: 0 | 1;
  /** 1 for a broadcast: only the node with a session, or the owner, answers. */
  readonly b: 0 | 1;
  /** 1 once it was offered to the key's previous owner during a handoff: not offered again. */
  readonly v?: 0 | 1;
  /** 1 when an earlier copy of this delivery may have reached the same address: the receiver must not report it failed. */
  readonly e?: 0 | 1;
  /** 1 when `from` takes outcomes in batches ({@link OutcomesWire}); without it each outcome goes alone (senders before batching). */
  readonly ob?: 0 | 1;
}

/** The final outcome of a delivery for one key, sent to the delivery's `from`. */
export interface OutcomeWire {
  readonly t: 'o';
  readonly id: string;
  /** The node that reports it. */
  readonly node: string;
  readonly outcome: DeliveryOutcome;
}

/**
 * Several final outcomes for one sender from one node, sent together: the
 * outcomes a node settles in one turn of its event loop (the acks of a
 * burst) cost one message on the transport instead of one each. Sent only
 * to senders that asked for it (`ob: 1` on their deliveries).
 */
export interface OutcomesWire {
  readonly t: 'os';
  readonly node: string;
  readonly list: ReadonlyArray<{ readonly id: string; readonly outcome: DeliveryOutcome }>;
}

export type Wire = DeliverWire | OutcomeWire | OutcomesWire;

/** Parses and checks a transport message; null when it is not a valid one. */
export function parseWire(text: string): Wire | null {
  const value = parseObject(text);
  if (value === null) return null;
  const w = value as Record<string, unknown>;
  if (w.t === 'os') {
    if (typeof w.node !== 'string' || !Array.isArray(w.list) || w.list.length === 0) return null;
    const list: Array<{ id: string; outcome: DeliveryOutcome }> = [];
    for (const item of w.list as unknown[]) {
      const i = item as Record<string, unknown> | null;
      if (typeof i !== 'object' || i === null || !validId(i.id)) return null;
      const outcome = checkOutcome(i.outcome);
      if (outcome === null) return null;
      list.push({ id: i.id, outcome });
    }
    return { t: 'os', node: w.node, list };
  }
  if (!validId(w.id)) return null;
  if (w.t === 'd') {
    if (typeof w.from !== 'string' || typeof w.data !== 'string' || !Array.isArray(w.keys) || !w.keys.every((k) => typeof k === 'string' && k.length > 0)) return null;
    if (!Number.isInteger(w.hops) || (w.hops as number) < 0 || typeof w.ttl !== 'number' || !(w.ttl >= 0)) return null;
    return { t: 'd', id: w.id, from: w.from, keys: w.keys as string[], data: w.data, hops: w.hops as number, ttl: w.ttl, w: w.w === 1 ? 1 : 0, b: w.b === 1 ? 1 : 0, v: w.v === 1 ? 1 : 0, e: w.e === 1 ? 1 : 0, ob: w.ob === 1 ? 1 : 0 };
  }
  if (w.t === 'o') {
    const outcome = checkOutcome(w.outcome);
    if (outcome === null || typeof w.node !== 'string') return null;
    return { t: 'o', id: w.id, node: w.node, outcome };
  }
  return null;
}

function validId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_MESSAGE_ID;
}

function checkOutcome(value: unknown): DeliveryOutcome | null {
  const o = value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !isStatus(o.status) || typeof o.key !== 'string') return null;
  if (o.status === 'delivered' && typeof o.node !== 'string') return null;
  if (o.status !== 'delivered' && typeof o.reason !== 'string') return null;
  return o as unknown as DeliveryOutcome;
}
