/**
 * A reconnecting WebSocket client for `ringroute/sessions` nodes, for
 * browsers and Node (pass `ws`'s `WebSocket` on Node < 22). It connects
 * through a gateway URL or straight to a node, follows "moved" and "wrong
 * node" closes to the owner they name, backs off with full jitter on
 * failures (honouring `Retry-After` under Node's `ws`), acknowledges
 * messages and drops duplicates by id. The wire
 * protocol is in `docs/sessions.md`. No Node-only imports.
 */
export { SessionClient, type SessionClientEvents, type SessionClientOptions, type WebSocketConstructor, type WebSocketLike } from './client.js';
export { fullJitter, retryAfterDelay } from './backoff.js';
export { parseRetryAfter } from './retry-after.js';
export type { SessionClientStats } from './stats.js';
export { CloseCode, PROTOCOL_VERSION, type MoveTarget } from '../sessions/protocol.js';
export { RingError } from '../errors.js';
