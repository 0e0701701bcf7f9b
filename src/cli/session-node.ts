/**
 * One app node as both modes see it: a local map of the sessions it holds,
 * and a handler for what arrives from the gateway. Used in-process by the
 * memory transport and inside each worker by the redis transport.
 */
import { DeliveryChecksum } from './checksum.js';
import { END_ID, decodeEnvelope, epochMs } from './envelope.js';
import { userIndex } from './workload.js';

/** What one node counted while a mode ran. */
export interface NodeCounters {
  /** Envelopes received: node visits. */
  visits: number;
  /** Visits where none of the listed recipients had a session here. */
  wastedVisits: number;
  /** Lookups in the local session map. */
  sessionLookups: number;
  /** Messages handed to a local session. */
  delivered: number;
  /** {@link DeliveryChecksum} of the deliveries. */
  checksum: string;
}

/** A user's connection; stands in for a WebSocket. */
interface Session {
  readonly index: number;
  received: number;
}

export class SessionNode {
  readonly id: string;
  readonly #sessions = new Map<string, Session>();
  readonly #recordLatency: boolean;
  #visits = 0;
  #wasted = 0;
  #lookups = 0;
  #delivered = 0;
  #checksum = new DeliveryChecksum();
  #latencies: number[] = [];

  /**
   * @param userIds - the users whose sessions live here.
   * @param recordLatency - keep the send-to-delivery time of every delivery (redis transport).
   */
  constructor(id: string, userIds: Iterable<string>, recordLatency = false) {
    this.id = id;
    for (const user of userIds) this.#sessions.set(user, { index: userIndex(user), received: 0 });
    this.#recordLatency = recordLatency;
  }

  /** Number of sessions held. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Handles one envelope from the gateway: parse it, look up each listed
   * recipient locally, deliver to those found.
   * @returns false for the end-of-run marker, true otherwise.
   */
  receive(payload: string): boolean {
    const envelope = decodeEnvelope(payload);
    if (envelope.id === END_ID) return false;
    this.#visits++;
    let hits = 0;
    const to = envelope.to;
    for (let i = 0; i < to.length; i++) {
      this.#lookups++;
      const session = this.#sessions.get(to[i]!);
      if (session === undefined) continue;
      session.received++;
      this.#checksum.add(envelope.id, session.index);
      if (this.#recordLatency) this.#latencies.push(epochMs() - envelope.t);
      hits++;
    }
    if (hits === 0) this.#wasted++;
    this.#delivered += hits;
    return true;
  }

  /** The counters since the last reset. */
  counters(): NodeCounters {
    return {
      visits: this.#visits,
      wastedVisits: this.#wasted,
      sessionLookups: this.#lookups,
      delivered: this.#delivered,
      checksum: this.#checksum.toString(),
    };
  }

  /** Send-to-delivery times in ms since the last reset (empty unless recording). */
  latencies(): number[] {
    return this.#latencies;
  }

  /** Zeroes the counters before the next mode or round. */
  reset(): void {
    this.#visits = 0;
    this.#wasted = 0;
    this.#lookups = 0;
    this.#delivered = 0;
    this.#checksum = new DeliveryChecksum();
    this.#latencies = [];
  }
}

/** Adds up node counters, merging their checksums. */
export function sumCounters(all: readonly NodeCounters[]): NodeCounters {
  const checksum = new DeliveryChecksum();
  const out: NodeCounters = { visits: 0, wastedVisits: 0, sessionLookups: 0, delivered: 0, checksum: '' };
  for (const c of all) {
    out.visits += c.visits;
    out.wastedVisits += c.wastedVisits;
    out.sessionLookups += c.sessionLookups;
    out.delivered += c.delivered;
    checksum.merge(c.checksum);
  }
  out.checksum = checksum.toString();
  return out;
}
