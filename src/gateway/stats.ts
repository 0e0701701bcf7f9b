/**
 * The gateway's counters as plain data, apart from the handler so that
 * code reading them (ringroute/metrics) needs no Node types.
 */
import type { AdmissionStats } from '../sessions/admission.js';

/** Why a request or upgrade was refused (the keys of {@link GatewayHandlerStats.refused}). */
export type RefusalReason =
  | 'unauthenticated' | 'forbidden' | 'bad-request' | 'too-large' | 'rate-limited' | 'overloaded' | 'bad-member' | 'unreachable'
  /** Admission: the wait queue was full, or the request waited past `queueTimeoutMs` (503 with `Retry-After`). */
  | 'queue-full' | 'queue-timeout'
  /** The descriptor budget was spent, or a connect failed for lack of descriptors (503 with `Retry-After`). */
  | 'descriptors';

/** The gateway's descriptors, from {@link GatewayHandlerStats.descriptors}. */
export interface DescriptorStats {
  /** The process's limit, and what is kept free of the gateway's sockets. */
  readonly limit: number;
  readonly reserved: number;
  /** Descriptors the gateway's upgrades, tunnels and route requests hold now. */
  readonly held: number;
  /** Descriptors the whole process had open at the last sample (taken each second while the gateway holds over a quarter of its budget), or null. */
  readonly open: number | null;
  /** Accepts and connects that failed for lack of descriptors (EMFILE, ENFILE). */
  readonly exhausted: number;
  /** Connections the server closed as soon as it accepted them, past its `maxConnections` (see {@link GatewayHandler.watch}). */
  readonly dropped: number;
}

export interface GatewayHandlerStats {
  /** Open WebSocket tunnels. */
  readonly tunnels: number;
  /** Recipients whose outcome is pending. */
  readonly inFlight: number;
  /** Senders whose rate is tracked. */
  readonly senders: number;
  /** Requests and upgrades refused, by reason. */
  readonly refused: Readonly<Record<RefusalReason, number>>;
  /** Upgrades whose client left (FIN or reset) before the owner answered: their slot and their hop to the owner were freed at once. */
  readonly abandoned: number;
  /** Upgrades in progress and waiting (`active`, `queued`), granted so far (`waited`: after queueing), refusals of the queue. */
  readonly upgrades: AdmissionStats;
  /** The same for `GET /route`. */
  readonly routes: AdmissionStats;
  /** The descriptor budget and what is held of it. */
  readonly descriptors: DescriptorStats;
}
