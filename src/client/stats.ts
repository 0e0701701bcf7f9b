/**
 * Counters of a {@link SessionClient}, from `client.stats()`. Every
 * connection attempt ends as exactly one of: a welcome, a refusal, a
 * failure, or a redirect before the welcome (counted in `redirects`), unless
 * it is still in progress or the client was closed during it.
 */
export interface SessionClientStats {
  /** WebSocket connections opened (attempts), redirects and retries included. */
  readonly connects: number;
  /** Attempts a node accepted with a welcome frame. */
  readonly welcomes: number;
  /**
   * Upgrades the server answered with an HTTP status instead of 101, by
   * status, e.g. `{ '503': 3 }`. Seen only where the WebSocket reports it
   * (`ws` under Node); in browsers such a refusal counts as a failure.
   */
  readonly refusals: Readonly<Record<string, number>>;
  /**
   * Attempts that closed before a welcome with no refusal seen and no
   * redirect followed: unreachable, reset, connect timeout, a redirect loop
   * past `maxRedirects`, or (in browsers, which hide the status) refused.
   */
  readonly failures: number;
  /** "moved", "wrong node" and "shutdown" redirects followed to a named owner. */
  readonly redirects: number;
  /**
   * The `Retry-After` of the latest refusal in ms (capped at `maxBackoffMs`),
   * or null before any refusal and when the latest refusal carried none.
   */
  readonly lastRetryAfterMs: number | null;
}
