/**
 * What became of one message for one recipient. Exactly one outcome is
 * reported per (message, recipient):
 *
 * - `delivered`: a client of the recipient acknowledged it.
 * - `failed`: it certainly never reached a socket (nobody owns the key, the
 *   hold queue was full, it expired before any write, ...); `reason` says why.
 * - `unknown`: it was (or may have been) written to a socket or handed to
 *   another node, but no acknowledgement came in time. It may have arrived.
 */
export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly key: string; readonly node: string }
  | { readonly status: 'failed'; readonly key: string; readonly reason: FailReason }
  | { readonly status: 'unknown'; readonly key: string; readonly reason: UnknownReason };

/** Why a message certainly did not reach the recipient. */
export type FailReason =
  /** The ring has no nodes: nobody owns the key. */
  | 'no-owner'
  /** The owner's hold queue for the key (or in total) was full. */
  | 'hold-full'
  /** Its time to live ran out while it waited (held, or unsent) and it was never written to a socket. */
  | 'expired'
  /** The node's table of in-flight messages was full. */
  | 'overloaded'
  /** Every attempt to reach the owner found nobody listening, or the transport refused before sending. */
  | 'unreachable'
  /** The node or dispatcher was closed before it could send it. */
  | 'closed'
  /** The owner was fenced (its membership lease had run out) for as long as the message lived, so it wrote it nowhere. */
  | 'fenced';

/** Why a message that may have arrived has no acknowledgement. */
export type UnknownReason =
  /** Written to a socket, no acknowledgement before the ack timeout or ttl. */
  | 'ack-timeout'
  /** Handed to a node (or maybe handed: the transport timed out) that reported nothing in time. */
  | 'no-outcome'
  /** Written to a socket that closed, and it could not be delivered again before its ttl. */
  | 'expired-after-write'
  /** The node was closed while the message was on a socket. */
  | 'closed-after-write'
  /**
   * An earlier copy of the message may have reached this node's address
   * before (the sender published it again after hearing nothing): that copy
   * may have been delivered by a previous run of the node, which restarted
   * since and forgot it, or its answer was lost. Never `failed` then.
   */
  | 'earlier-copy';

/** Whether `value` is one of the outcome statuses. */
export function isStatus(value: unknown): value is DeliveryOutcome['status'] {
  return value === 'delivered' || value === 'failed' || value === 'unknown';
}
