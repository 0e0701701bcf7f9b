/**
 * The app-node side of routing: {@link SessionNode} keeps the sessions this
 * node owns (attach refuses keys owned elsewhere, naming the owner), hands
 * over exactly the sessions a ring change moves, paced, and delivers
 * messages with one honest outcome each (`delivered`, `failed`, `unknown`),
 * holding them for users moving in and forwarding them over a
 * {@link Transport} to the owner. {@link Dispatcher} is the sending side for
 * gateways and back ends. The wire protocol, close codes and every bound are
 * documented in `docs/sessions.md`; `ringroute/client` is the matching client.
 */
export { SessionNode, type DeliverOptions, type HandoffReport, type SessionNodeEvents, type SessionNodeStats } from './session-node.js';
export { Session } from './session.js';
export { DEFAULT_FENCE_CLOSE_AFTER_MS, type FenceReport, type LeaseOptions } from './fence.js';
export type { SessionSocket } from './socket.js';
export type { HandoffStrategy, RouterLike, SessionNodeOptions } from './options.js';
export { DEFAULT_HOLD_BYTES, DEFAULT_HOLD_PER_KEY, type HoldQueueOptions } from './hold-queue.js';
export { Dispatcher, type DispatchMode, type DispatcherEvents, type DispatcherOptions, type SendOptions } from './dispatcher.js';
export type { DeliveryOutcome, FailReason, UnknownReason } from './outcome.js';
export { BROADCAST_ADDRESS, nodeAddress, senderAddress } from './wire.js';
export { HashIndex } from './hash-index.js';
export { HandshakeGate, type ErrorSource, type GatedSocket, type HandshakeGateEvents, type HandshakeGateOptions, type HandshakeGateStats, type HandshakeRefusal } from './handshake-gate.js';
export { Admission, type AdmissionOptions, type AdmissionRefusal, type AdmissionStats, type AdmissionTicket } from './admission.js';
export {
  DEFAULT_RESERVED_DESCRIPTORS,
  descriptorLimit,
  isDescriptorExhaustion,
  openDescriptors,
  openDescriptorsAsync,
  resolveDescriptorBudget,
  type DescriptorBudget,
  type DescriptorOptions,
} from './descriptors.js';
export { refuseUpgrade, type RefusableSocket } from './refusal.js';
export {
  CloseCode,
  MAX_CLIENT_FRAME,
  MAX_MESSAGE_ID,
  PROTOCOL_VERSION,
  type ClientFrame,
  type CloseCodeValue,
  type MoveTarget,
  type NodeFrame,
} from './protocol.js';
export type { Transport } from '../live/transport.js';
export type { LogEntry, LogLevel, Logger } from '../live/logger.js';
