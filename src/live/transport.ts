/**
 * How the nodes and senders of a cluster pass messages to each other
 * (`ringroute/sessions` forwards deliveries and reports outcomes over it).
 *
 * An address names one listener: a node (`node:<id>`), a sender
 * (`sender:<id>`) or every node (`all`). The transport maps addresses to its
 * own channel names. Messages are strings; delivery is at most once and may
 * be lost (Redis pub/sub drops what it publishes while a subscriber
 * reconnects), so every user of a transport has timeouts and retries.
 */
export interface Transport {
  /**
   * Sends `message` to every listener at `address`. Resolves to 0 when
   * nobody listened there (certain: nobody received it), and otherwise to a
   * positive number: the listeners it reached where the backend counts them
   * (memory, Redis pub/sub), or 1 for "at least one" where it can only tell
   * that someone listened (NATS: a subscription matched). Callers compare
   * with 0, never with a count. Rejects when the backend is unreachable; the message may then still have
   * been sent, so a caller must treat such a rejection as "maybe sent". A
   * rejection with a `RingError` (bad input, `CLOSED`) means nothing was sent.
   */
  publish(address: string, message: string): Promise<number>;
  /**
   * Starts listening at `address`; resolves once messages published from now
   * on will arrive. One listener per address per transport handle: a second
   * `listen` to the same address rejects with `INVALID_OPTION`. Returns a
   * function that stops listening. Listener exceptions and backend failures
   * go to `onError`, never to the caller of `publish`.
   */
  listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>>;
  /** Stops every listener of this handle and releases what it opened itself (never the caller's client). */
  close(): Promise<void>;
}

/** Longest accepted transport address, in UTF-16 code units. */
export const MAX_ADDRESS_LENGTH = 1024;
