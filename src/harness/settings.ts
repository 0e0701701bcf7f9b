/**
 * The library options the bench runs with: the defaults, except what a
 * steady cluster under a measured load has no use for.
 */
import type { DispatcherOptions } from '../sessions/dispatcher.js';

/** `SessionNode` options: no keepalive pings (the in-process clients never go quiet, and pings are not routing). */
export const NODE_OPTIONS = { pingIntervalMs: 0 } as const;

/**
 * `Dispatcher` options: room for every recipient of the send window (a
 * group can be large), and a retry only after 5 s so a loaded machine does
 * not turn slow outcomes into extra visits.
 */
export function senderOptions(): Pick<DispatcherOptions, 'maxInFlight' | 'retryMs' | 'ttlMs'> {
  return { maxInFlight: 10_000_000, retryMs: 5000, ttlMs: 30_000 };
}
