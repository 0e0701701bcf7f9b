/**
 * What the benchmark harness measures: one system (ringroute's hash or
 * broadcast routing, or a Socket.IO cluster) carrying one workload at one
 * node count. Every figure is counted on the real parts (the library's
 * `Dispatcher`, `SessionNode` and transports, or Socket.IO's own code);
 * the harness adds only sockets that acknowledge and the counting around them.
 */

/** The systems a run can compare. */
export type SystemName = 'broadcast' | 'hash' | 'socket.io-redis-adapter' | 'ringroute-socket.io';

/** One message of the workload, as the sender gets it. */
export interface BenchMessage {
  /** Index in the workload, also the message id on the wire. */
  readonly id: number;
  readonly kind: 'direct' | 'group';
  readonly from: string;
  /** Distinct recipients' user ids (keys of the ring). */
  readonly to: readonly string[];
  readonly text: string;
}

/** CPU of one run, microseconds of user + system time. */
export interface CpuMeasure {
  /** Everything below together: the cost the report compares. */
  readonly totalMicros: number;
  /** The sender(s): `Dispatcher`, or the emitting Socket.IO server. Null when not separable. */
  readonly senderMicros: number | null;
  /** All node processes together. Null when not separable (one process). */
  readonly nodesMicros: number | null;
  /** The Redis server, from `INFO cpu` before and after; null without Redis. */
  readonly serverMicros: number | null;
}

/**
 * Where the CPU of the in-process (timed) round went, microseconds. Each
 * part is timed at a boundary the harness owns, never inside the library.
 */
export interface CpuSplit {
  /** Ring lookups (by the sender in hash mode, by every node for broadcast recipients). */
  readonly routing: number;
  /** Every JSON encode and decode: deliveries and outcomes on the transport, frames to and from clients. */
  readonly codec: number;
  /** The sender apart from routing, codec and publishes: its record of each recipient, taking outcomes. */
  readonly sender: number;
  /** The nodes apart from routing, codec, publishes and clients: session lookups, writing, acks, remembered outcomes. */
  readonly delivery: number;
  /** Inside the transport's publish calls. */
  readonly transport: number;
  /** The in-process clients: taking frames and acknowledging. */
  readonly clients: number;
  /** Everything else: the event loop, timers, garbage collection. */
  readonly rest: number;
}

/** What one run of one system over the workload measured. */
export interface RunMeasure {
  readonly messages: number;
  readonly directMessages: number;
  readonly groupMessages: number;
  /** Distinct (message, user) pairs that reached the user's client. */
  readonly delivered: number;
  /** Frames a client got for a (message, user) pair it already had. */
  readonly duplicates: number;
  /** Order-independent checksum of the delivered pairs (`DeliveryChecksum`). */
  readonly checksum: string;
  /** Recipients whose final outcome at the sender was not `delivered` (0 where the system has no outcomes). */
  readonly notDelivered: number;
  /** Deliveries that reached a node (a broadcast counts once per node that heard it). */
  readonly nodeVisits: number;
  readonly directVisits: number;
  readonly groupVisits: number;
  /** Visits where the node wrote the message to none of its sessions. */
  readonly wastedVisits: number;
  /** Messages that crossed the bus, outcomes and acks included, and their bytes (a message heard by k nodes counts k times). */
  readonly busMessages: number;
  readonly busBytes: number;
  readonly cpu: CpuMeasure;
  /** Null when this run was not timed. */
  readonly split: CpuSplit | null;
  readonly wallMs: number;
  /** Per message, from the send to the last recipient's acknowledgement, ms. */
  readonly latenciesMs: Float64Array;
  /** The Redis server's own cost, from `INFO` before and after; null without Redis. */
  readonly server: { readonly cpuMicros: number; readonly netBytes: number } | null;
}

/** Called with the number of messages sent so far. */
export type Progress = (sent: number) => void;

/** A running cluster of one system at one node count, its sessions attached. */
export interface BenchCluster {
  /** Sends `messages` and waits for every outcome (or the timeout); `timed` also measures the CPU split. */
  run(messages: readonly BenchMessage[], progress: Progress, timed: boolean): Promise<RunMeasure>;
  /** Stops every part; never throws. */
  close(): Promise<void>;
}
