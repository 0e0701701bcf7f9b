/**
 * Every error that ringroute throws on bad input is a {@link RingError}; its
 * {@link RingError.code} tells the cases apart without parsing messages.
 */
export type RingErrorCode =
  /** `lookup`/`lookupN` on a ring with no nodes. */
  | 'EMPTY_RING'
  /** `add` of an id that is already on the ring, or ids repeated in one list. */
  | 'DUPLICATE_NODE'
  /** `remove` of an id that is not on the ring. */
  | 'UNKNOWN_NODE'
  /** A node whose id, weight or meta is not valid. */
  | 'INVALID_NODE'
  /** An option or argument outside its documented range. */
  | 'INVALID_OPTION'
  /** A snapshot (or stored ring state) that does not have the documented shape. */
  | 'INVALID_SNAPSHOT'
  /** Two rings, or a ring and a snapshot, built with different hash functions. */
  | 'HASHER_MISMATCH'
  /** A call on an adapter, router or coordinator after its `close()`. */
  | 'CLOSED'
  /** A bounded queue or table is full (e.g. a `Dispatcher`'s in-flight messages); retry later. */
  | 'OVERLOADED'
  /**
   * The store holds a different ring under the (epoch, version) a router was
   * serving: a write the router had read was lost (e.g. by a Redis fail-over)
   * and another took its version. Reported on the router's `error` event as
   * it adopts the store's ring.
   */
  | 'CONFLICT';

/**
 * The error class of ringroute. A call that throws a `RingError` leaves the
 * object it was called on unchanged.
 *
 * @example
 * ```ts
 * try { ring.remove('node-9') } catch (err) {
 *   if (err instanceof RingError && err.code === 'UNKNOWN_NODE') { ... }
 * }
 * ```
 */
export class RingError extends Error {
  /** A stable, machine-readable reason. */
  readonly code: RingErrorCode;

  constructor(code: RingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingError';
    this.code = code;
  }
}

/** Shortens a value for an error message, so a huge input never floods a log. */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value == null) text = String(value);
  else if (Array.isArray(value)) text = `array(${value.length})`;
  else text = typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
