/**
 * One app node as both modes see it: a local map of the sessions it holds,
 * and a handler for what arrives from the gateway. Used in-process by the
 * memory transport and inside each worker by the redis transport.
 */
import { DeliveryChecksum } from '../harness/checksum.js';
import { END_ID, decodeHeader, epochMs, newHeader } from './envelope.js';
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
  /** Body bytes handed to the connection. */
  bytes: number;
}

/** Where a node's CPU went, in ms, when it times its own parts (redis transport). */
export interface NodeTimes {
  /** Reading envelope headers. */
  codecMs: number;
  /** Session lookups and handing bodies to sessions. */
  deliveryMs: number;
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
  /** Scratch for {@link SessionNode.receive}: one header and its recipients, reused. */
  readonly #header = newHeader();
  readonly #recipients: string[] = [];
  #times: NodeTimes = { codecMs: 0, deliveryMs: 0 };

  /**
   * @param userIds - the users whose sessions live here.
   * @param recordLatency - keep the send-to-delivery time of every delivery,
   *   and time header decoding and delivery apart in {@link SessionNode.receive} (redis transport).
   */
  constructor(id: string, userIds: Iterable<string>, recordLatency = false) {
    this.id = id;
    for (const user of userIds) this.#sessions.set(user, { index: userIndex(user), received: 0, bytes: 0 });
    this.#recordLatency = recordLatency;
  }

  /** Number of sessions held. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Handles one envelope from the gateway: read its header, then deliver.
   * With `recordLatency`, the two parts are timed apart ({@link SessionNode.times}).
   * @returns false for the end-of-run marker, true otherwise.
   */
  receive(payload: string): boolean {
    const header = this.#header;
    if (!this.#recordLatency) {
      decodeHeader(payload, this.#recipients, 0, header);
      if (header.id === END_ID) return false;
      this.deliver(header.id, header.t, this.#recipients, header.from, header.to, payload, header.bodyStart);
      return true;
    }
    const t0 = performance.now();
    decodeHeader(payload, this.#recipients, 0, header);
    const t1 = performance.now();
    this.#times.codecMs += t1 - t0;
    if (header.id === END_ID) return false;
    this.deliver(header.id, header.t, this.#recipients, header.from, header.to, payload, header.bodyStart);
    this.#times.deliveryMs += performance.now() - t1;
    return true;
  }

  /**
   * Delivers one decoded envelope: looks up each recipient
   * `recipients[from, to)` in the local sessions and hands the body to those
   * found. The body is sliced out of the payload only when someone here gets it.
   */
  deliver(id: number, t: number, recipients: readonly string[], from: number, to: number, payload: string, bodyStart: number): void {
    this.#visits++;
    this.#lookups += to - from;
    let hits = 0;
    let body: string | undefined;
    for (let i = from; i < to; i++) {
      const session = this.#sessions.get(recipients[i]!);
      if (session === undefined) continue;
      body ??= payload.slice(bodyStart);
      session.received++;
      session.bytes += body.length;
      this.#checksum.add(id, session.index);
      if (this.#recordLatency) this.#latencies.push(epochMs() - t);
      hits++;
    }
    if (hits === 0) this.#wasted++;
    this.#delivered += hits;
  }

  /** Time spent decoding and delivering in {@link SessionNode.receive} since the last reset (only with `recordLatency`). */
  times(): NodeTimes {
    return { ...this.#times };
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
    this.#times = { codecMs: 0, deliveryMs: 0 };
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
