import type { DeliveryOutcome } from './outcome.js';

/** One message for one key on its way through a node. */
export interface Parcel {
  readonly id: string;
  readonly key: string;
  readonly data: string;
  /** Transport address that waits for the outcome. */
  readonly from: string;
  /** Resolves the caller's promise when the message started on this node; null when `from` waits over the transport. */
  readonly settle: ((outcome: DeliveryOutcome) => void) | null;
  /** Local time after which it is no longer delivered. */
  readonly deadline: number;
  /** Node-to-node forwards so far. */
  hops: number;
  /** It was (or may have been) written to a socket, here or on another node: never `failed` from now on. */
  written: boolean;
  /** It was (or may have been) handed to another node, which may deliver it. */
  handedOff: boolean;
  /** An earlier copy may have reached this node before (a previous run of it, or one whose answer was lost): never `failed`. */
  earlierCopy: boolean;
  /** `from` takes its outcomes in batches (`ob: 1` on the delivery): the outcome may share a message with others. */
  batchOutcomes: boolean;
  /** Nodes a forward of it may have reached: a later forward to one of them says so (`e`). */
  sentTo: Set<string> | undefined;
  /** Already offered to the key's previous owner (which may still hold the session during a paced handoff). */
  viaPrevious: boolean;
  /** Why it would fail if it expired now. */
  failReason: 'expired' | 'unreachable' | 'fenced';
  /** Sessions it is written to and not acknowledged by, while in flight. */
  copies: number;
  /** In flight: when it counts as unacknowledged. */
  ackBy: number;
  /** Final outcome reported. */
  done: boolean;
  /** Approximate memory it holds, for the hold queue's byte bound. */
  readonly bytes: number;
  /** The `msg` frame, built once. */
  frame: string | undefined;
  /** Its key in the courier's tables of remote senders' messages (`from \0 id \0 key`), once built. */
  dk: string | undefined;
}

/** Fixed cost counted per held message on top of its strings. */
const PARCEL_OVERHEAD_BYTES = 160;

export function makeParcel(
  id: string,
  key: string,
  data: string,
  from: string,
  settle: Parcel['settle'],
  deadline: number,
  hops: number,
  written: boolean,
): Parcel {
  return {
    id,
    key,
    data,
    from,
    settle,
    deadline,
    hops,
    written,
    handedOff: false,
    earlierCopy: false,
    batchOutcomes: false,
    sentTo: undefined,
    viaPrevious: false,
    failReason: 'expired',
    copies: 0,
    ackBy: 0,
    done: false,
    bytes: PARCEL_OVERHEAD_BYTES + 2 * (data.length + key.length + id.length),
    frame: undefined,
    dk: undefined,
  };
}
