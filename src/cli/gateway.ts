/**
 * The gateway's side of each routing mode: where a message goes and what
 * that costs in node visits, ring lookups and bytes.
 *
 * - `broadcast`: one envelope with every recipient, to every node (the
 *   Socket.IO Redis adapter's way); each node checks its own sessions.
 * - `hash`: the owner of each recipient from the ring; one envelope per
 *   distinct owner, listing only the recipients it owns.
 */
import { groupByOwner, type OwnerLookup } from '../ring/group-by-owner.js';
import type { HashRing } from '../ring/hash-ring.js';
import { encodeEnvelope } from './envelope.js';
import type { Message } from './workload.js';

/** The two designs being compared. */
export type Mode = 'broadcast' | 'hash';

/** Both modes, in the order they are reported. */
export const MODES: readonly Mode[] = ['broadcast', 'hash'];

/**
 * Sends one serialized envelope: to node `target`, or to every node when
 * `target` is null (one publish that the transport fans out).
 */
export type Publish = (target: string | null, payload: string) => void;

/** What the gateway counted while a mode ran. */
export interface GatewayCounters {
  messages: number;
  directMessages: number;
  groupMessages: number;
  /** Envelopes that reached a node, all messages. */
  nodeVisits: number;
  /** The part of `nodeVisits` due to direct (one-to-one) messages. */
  directVisits: number;
  /** The part of `nodeVisits` due to group messages. */
  groupVisits: number;
  /** `lookup` calls on the ring. */
  ringLookups: number;
  /** Serialized bytes delivered to nodes (a broadcast envelope counts once per node). */
  bytesBetweenNodes: number;
}

export class Gateway {
  readonly #ring: OwnerLookup;
  readonly #nodeCount: number;
  #counters: GatewayCounters = emptyCounters();

  constructor(ring: HashRing) {
    this.#nodeCount = ring.size;
    // Counts lookups at the one place hash routing calls the ring.
    this.#ring = {
      lookup: (key) => {
        this.#counters.ringLookups++;
        return ring.lookup(key);
      },
    };
  }

  /** Routes one message in `mode`, stamping it with send time `t` (epoch ms). */
  route(message: Message, mode: Mode, t: number, publish: Publish): void {
    const c = this.#counters;
    c.messages++;
    if (message.kind === 'direct') c.directMessages++;
    else c.groupMessages++;
    let visits = 0;
    if (mode === 'broadcast') {
      const payload = encodeEnvelope(message.id, message.from, message.to, t, message.text);
      publish(null, payload);
      visits = this.#nodeCount;
      c.bytesBetweenNodes += payload.length * visits;
    } else if (message.kind === 'direct') {
      const to = message.to[0]!;
      const payload = encodeEnvelope(message.id, message.from, message.to, t, message.text);
      publish(this.#ring.lookup(to).id, payload);
      visits = 1;
      c.bytesBetweenNodes += payload.length;
    } else {
      for (const [owner, members] of groupByOwner(this.#ring, message.to)) {
        const payload = encodeEnvelope(message.id, message.from, members, t, message.text);
        publish(owner, payload);
        visits++;
        c.bytesBetweenNodes += payload.length;
      }
    }
    c.nodeVisits += visits;
    if (message.kind === 'direct') c.directVisits += visits;
    else c.groupVisits += visits;
  }

  /** The counters since the last reset. */
  counters(): GatewayCounters {
    return { ...this.#counters };
  }

  reset(): void {
    this.#counters = emptyCounters();
  }
}

function emptyCounters(): GatewayCounters {
  return { messages: 0, directMessages: 0, groupMessages: 0, nodeVisits: 0, directVisits: 0, groupVisits: 0, ringLookups: 0, bytesBetweenNodes: 0 };
}
