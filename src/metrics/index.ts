/**
 * Seeing the ring. {@link instrument} registers Prometheus metrics (ring
 * version, nodes, shares, sessions per node, changes, moved keys by reason,
 * errors by code, deliveries by outcome, convergence, handoff and delivery
 * histograms) on a `prom-client` registry you pass in: `prom-client` is an
 * optional peer dependency, needed only by this entry. {@link StatusBoard}
 * collects what an on-call engineer looks at first, and
 * {@link statusHandler} serves it as a live, self-contained page
 * (`/status`), with `/metrics` and `/healthz`, behind an admin token.
 * Names and meanings: docs/metrics.md.
 */
export { instrument, reasonOf, type InstrumentOptions, type Instrumentation } from './instrument.js';
export type { GatewayLike } from './admission-metrics.js';
export { StatusBoard, type GatewayStatus, type NodeStatus, type StatusBoardEvents, type StatusBoardOptions, type StatusEvent, type StatusSnapshot } from './status-board.js';
export { statusHandler, type IncomingMessage, type ServerResponse, type StatusHandlerOptions, type StatusRequestHandler } from './status-handler.js';
export { ringArcs } from './ring-arcs.js';
export type { LogEntry, LogLevel, Logger } from '../live/logger.js';
