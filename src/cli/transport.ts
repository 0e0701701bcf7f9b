/**
 * What a transport gives the benchmark: a set of nodes holding sessions,
 * and a way to push one mode's messages through them while measuring.
 */
import type { HashRing } from '../ring/hash-ring.js';
import type { TransportName } from './args.js';
import type { GatewayCounters, Mode } from './gateway.js';
import type { NodeCounters } from './session-node.js';
import type { Message } from './workload.js';

/** CPU spent by one run, in microseconds of user + system time. */
export interface CpuSpent {
  /** Everything below together: the cost the benchmark reports. */
  readonly totalMicros: number;
  /** The gateway process (routing, serializing, publishing); null when not separable. */
  readonly gatewayMicros: number | null;
  /** All node workers together (receiving, parsing, session lookups); null when not separable. */
  readonly nodesMicros: number | null;
  /** The Redis server (fan-out to subscribers); null without Redis (NATS included) or when INFO is not allowed. */
  readonly redisMicros: number | null;
}

/**
 * The CPU of one run by kind of work, in microseconds; what is left of the
 * total (the transport, Redis, the event loop, timing itself) is the rest.
 */
export interface CpuSplit {
  /** The gateway deciding where each message goes: ring lookups and grouping by owner (none under broadcast). */
  readonly routingMicros: number;
  /** Encoding envelopes at the gateway and reading their headers at the nodes. */
  readonly codecMicros: number;
  /** Session lookups at the nodes and handing bodies to sessions. */
  readonly deliveryMicros: number;
}

/** What one run of one mode over a list of messages measured. */
export interface RunResult {
  readonly gateway: GatewayCounters;
  /** Sum over all nodes (the checksum merged). */
  readonly nodes: NodeCounters;
  readonly cpu: CpuSpent;
  readonly split: CpuSplit;
  readonly wallMs: number;
  /** Send-to-delivery time of every delivery, or null when the transport has no real hop. */
  readonly latenciesMs: Float64Array | null;
}

/** The nodes of one node count, with their sessions in place. */
export interface Cluster {
  /**
   * Routes `messages` in `mode`; `progress(done)` reports how many were sent.
   * A `warmup` run only gets code hot: it may go as fast as it can, unpaced.
   */
  run(mode: Mode, messages: readonly Message[], progress: (done: number) => void, warmup?: boolean): Promise<RunResult>;
  /** Stops the nodes. */
  close(): Promise<void>;
}

/** A way to run nodes: in this process, or as worker processes on Redis or NATS pub/sub. */
export interface Transport {
  readonly name: TransportName;
  /**
   * Starts one node per ring member; `sessions` maps each node id to the
   * users whose sessions it holds.
   */
  start(ring: HashRing, sessions: ReadonlyMap<string, readonly string[]>): Promise<Cluster>;
  /** Releases what the transport holds (connections). */
  close(): Promise<void>;
}
