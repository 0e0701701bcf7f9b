/**
 * The timing options every store-backed membership adapter shares (Redis,
 * NATS): their defaults, how each default follows the other option when only
 * one is given, and their bounds. One place, so the adapters cannot drift
 * apart in what they accept.
 */
import { RingError, describe } from '../errors.js';

/** Default time a member stays alive without a heartbeat, in ms. */
export const DEFAULT_MEMBER_TTL_MS = 3000;
/** Default interval of heartbeats and expiry passes, in ms. */
export const DEFAULT_MEMBER_HEARTBEAT_MS = 1000;
/** Smallest accepted `heartbeatMs`. */
export const MIN_MEMBER_HEARTBEAT_MS = 10;
/** Largest accepted `ttlMs`: one day. */
export const MAX_MEMBER_TTL_MS = 86_400_000;

/** The options as given (any of them may be missing or wrong). */
export interface MembershipTimingOptions {
  readonly ttlMs?: number;
  readonly heartbeatMs?: number;
  readonly timeoutMs?: number;
  readonly onError?: (error: Error) => void;
}

/** The options resolved and checked. */
export interface MembershipTiming {
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  /** Longest wait for one heartbeat-and-expiry pass; defaults to `ttlMs`. */
  readonly timeoutMs: number;
}

/**
 * Resolves `ttlMs`, `heartbeatMs` and `timeoutMs`, and checks them and
 * `onError`. `ttlMs` defaults to 3000 or 3 x heartbeatMs when that is larger;
 * `heartbeatMs` to 1000 or ttlMs / 3 (rounded down) when that is smaller.
 * `ttlMs` must be an integer in [20, 86400000] and `heartbeatMs` one in
 * [10, ttlMs / 2], so that one late heartbeat never expires a member.
 * @throws RingError `INVALID_OPTION` naming the option and the value given.
 */
export function resolveMembershipTiming(options: MembershipTimingOptions): MembershipTiming {
  // Each default follows the other option when only one is given.
  const ttlMs = options.ttlMs ?? Math.max(DEFAULT_MEMBER_TTL_MS, 3 * (options.heartbeatMs ?? 0));
  const heartbeatMs = options.heartbeatMs ?? Math.min(DEFAULT_MEMBER_HEARTBEAT_MS, Math.floor(ttlMs / 3));
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 2 * MIN_MEMBER_HEARTBEAT_MS || ttlMs > MAX_MEMBER_TTL_MS) {
    throw new RingError('INVALID_OPTION', `ttlMs must be an integer in [${2 * MIN_MEMBER_HEARTBEAT_MS}, ${MAX_MEMBER_TTL_MS}], got ${describe(ttlMs)}`);
  }
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < MIN_MEMBER_HEARTBEAT_MS || heartbeatMs * 2 > ttlMs) {
    throw new RingError(
      'INVALID_OPTION',
      `heartbeatMs must be an integer in [${MIN_MEMBER_HEARTBEAT_MS}, ttlMs / 2 = ${Math.floor(ttlMs / 2)}], got ${describe(heartbeatMs)}`,
    );
  }
  const timeoutMs = options.timeoutMs ?? ttlMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RingError('INVALID_OPTION', `timeoutMs must be a positive number, got ${describe(timeoutMs)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new RingError('INVALID_OPTION', `onError must be a function, got ${describe(options.onError)}`);
  }
  return { ttlMs, heartbeatMs, timeoutMs };
}
