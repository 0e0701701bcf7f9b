/**
 * The gateway side of routing, for plain `node:http` (and so any framework
 * built on it): {@link GatewayHandler} answers `GET /route`, sends messages
 * for `POST /send` and `POST /groups/:id/send` with a `Dispatcher`, and
 * proxies WebSocket upgrades to the user's owner in one step, with a
 * connect timeout, a clean 502 on failure and every member URL checked.
 * Every request is authenticated by an `authenticate(req)` hook (required
 * unless `insecure: true`); {@link createJwtAuthenticator} verifies signed
 * tokens with `jose` (an optional peer dependency). Every bound has a
 * documented default: see `docs/gateway.md`.
 */
export { GatewayHandler, type GatewayHandlerEvents, type GatewayHandlerStats, type RefusalReason, type SendResult, type WatchedServer } from './gateway-handler.js';
export type { DescriptorStats } from './stats.js';
export type { AdmissionStats } from '../sessions/admission.js';
export { DEFAULT_LIMITS, gatewayServerOptions, type GatewayLimits, type GatewayMessage, type GatewayOptions } from './options.js';
export { AuthenticationError, requestToken, type Authenticate } from './authenticate.js';
export { createJwtAuthenticator, type JwtAuthenticator, type JwtAuthenticatorOptions } from './jwt.js';
export { checkMemberUrl, type MemberTarget, type MemberUrlCheck } from './member-url.js';
export { RateLimiter, type RateDecision } from './rate-limiter.js';
