/**
 * The gateway's side of each routing mode: where a message goes and what
 * that costs in node visits, ring lookups and bytes.
 *
 * - `broadcast`: one envelope with every recipient, to every node (the
 *   Socket.IO Redis adapter's way); each node checks its own sessions.
 * - `hash`: the owner of each recipient from the ring; one envelope per
 *   distinct owner, listing only the recipients it owns.
 *
 * Routing and encoding are separate steps over a batch of messages, so the
 * transports can time them apart: {@link Gateway.route} decides the
 * envelopes (the routing work), {@link Gateway.encode} serializes them (the
 * codec work).
 */
import { groupByOwner, type OwnerLookup } from '../ring/group-by-owner.js';
import type { HashRing } from '../ring/hash-ring.js';
import { encodeBody, encodeEnvelope } from './envelope.js';
import type { Message } from './workload.js';

/** The two designs being compared. */
export type Mode = 'broadcast' | 'hash';

/** Both modes, in the order they are reported. */
export const MODES: readonly Mode[] = ['broadcast', 'hash'];

/** Target of an envelope that goes to every node. */
export const ALL_NODES = -1;

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
  /** Keys looked up on the ring. */
  ringLookups: number;
  /** Serialized bytes delivered to nodes (a broadcast envelope counts once per node). */
  bytesBetweenNodes: number;
}

/**
 * The envelopes of a batch of messages, in flat arrays reused from batch to
 * batch: envelope `e` carries `messages[e]` to node `targets[e]` (an index
 * into the gateway's node list, or {@link ALL_NODES}) for recipients `to[e]`.
 */
export class EnvelopeBatch {
  count = 0;
  readonly messages: Message[] = [];
  readonly targets: number[] = [];
  readonly to: Array<readonly string[]> = [];
  /** Set by {@link Gateway.encode}. */
  readonly payloads: string[] = [];

  clear(): void {
    this.count = 0;
  }

  add(message: Message, target: number, to: readonly string[]): void {
    const e = this.count++;
    this.messages[e] = message;
    this.targets[e] = target;
    this.to[e] = to;
  }
}

export class Gateway {
  readonly #ring: Required<OwnerLookup>;
  readonly #nodeCount: number;
  /** Node id -> index in `ring.nodes()`, the order transports keep their nodes in. */
  readonly #index: Map<string, number>;
  #counters: GatewayCounters = emptyCounters();

  constructor(ring: HashRing) {
    const nodes = ring.nodes();
    this.#nodeCount = nodes.length;
    this.#index = new Map(nodes.map((node, i) => [node.id, i]));
    // Counts lookups at the one place hash routing calls the ring.
    this.#ring = {
      lookup: (key) => {
        this.#counters.ringLookups++;
        return ring.lookup(key);
      },
      lookupMany: (keys) => {
        this.#counters.ringLookups += keys.length;
        return ring.lookupMany(keys);
      },
    };
  }

  /** Decides the envelopes of one message in `mode` and appends them to `batch`: the routing work. */
  route(message: Message, mode: Mode, batch: EnvelopeBatch): void {
    const c = this.#counters;
    c.messages++;
    const direct = message.kind === 'direct';
    if (direct) c.directMessages++;
    else c.groupMessages++;
    let visits = 0;
    if (mode === 'broadcast') {
      batch.add(message, ALL_NODES, message.to);
      visits = this.#nodeCount;
    } else if (direct) {
      batch.add(message, this.#index.get(this.#ring.lookup(message.to[0]!).id)!, message.to);
      visits = 1;
    } else {
      for (const [owner, members] of groupByOwner(this.#ring, message.to)) {
        batch.add(message, this.#index.get(owner)!, members);
        visits++;
      }
    }
    c.nodeVisits += visits;
    if (direct) c.directVisits += visits;
    else c.groupVisits += visits;
  }

  /**
   * Serializes every envelope of `batch` with send time `time` (from
   * `formatTime`): the codec work. A message's body is encoded once for all
   * its envelopes.
   */
  encode(batch: EnvelopeBatch, time: string): void {
    const c = this.#counters;
    let last: Message | undefined;
    let body = '';
    for (let e = 0; e < batch.count; e++) {
      const message = batch.messages[e]!;
      if (message !== last) {
        last = message;
        body = encodeBody(message.from, message.text);
      }
      const payload = encodeEnvelope(message.id, time, batch.to[e]!, body);
      batch.payloads[e] = payload;
      c.bytesBetweenNodes += batch.targets[e] === ALL_NODES ? payload.length * this.#nodeCount : payload.length;
    }
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
