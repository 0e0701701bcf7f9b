/**
 * A hook to trace the runtime parts' decisions (which ring a router adopted,
 * which record it skipped, what a coordinator wrote or held back, how a node
 * paced a handoff) without patching code. Pass `logger` to `RingRouter`,
 * `RingCoordinator`, `SessionNode` or `Dispatcher`; print, filter by level or
 * forward to your own logging library. Nothing is logged when it is absent.
 */

/** How much an entry matters: `debug` is per message, `info` per ring change, `warn`/`error` something an operator should look at. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One decision of a runtime part. */
export interface LogEntry {
  readonly level: LogLevel;
  /** Which part decided: `router`, `coordinator`, `session-node` or `dispatcher`. */
  readonly source: 'router' | 'coordinator' | 'session-node' | 'dispatcher';
  /** A stable name for the decision, e.g. `adopt`, `skip`, `write`, `hold`, `handoff`; see docs/metrics.md. */
  readonly event: string;
  /** One human-readable line. */
  readonly message: string;
  /** The same facts as fields, for structured logs. */
  readonly fields?: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * Receives every {@link LogEntry}. It runs synchronously on the part's own
 * path, so it should be cheap; an exception it throws is swallowed (a
 * logger must never change a routing decision).
 */
export type Logger = (entry: LogEntry) => void;

/** Calls `logger` (when there is one), never letting it throw into the caller. */
export function log(logger: Logger | undefined, entry: LogEntry): void {
  if (logger === undefined) return;
  try {
    logger(entry);
  } catch {
    // a logger's failure is not the router's
  }
}

/** @throws nothing; returns the message for a bad `logger` option, or `undefined`. */
export function badLogger(logger: unknown): string | undefined {
  return logger === undefined || typeof logger === 'function' ? undefined : `logger must be a function, got ${typeof logger}`;
}
