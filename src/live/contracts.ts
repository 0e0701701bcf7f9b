import type { RingNode } from '../ring/types.js';

/**
 * The agreed ring of a cluster at one version. Versions start at 1 and grow
 * by exactly one on every change; a store with no ring yet has version 0.
 */
export interface RingState {
  /** Monotonic version, bumped by every successful `compareAndSet`. */
  readonly version: number;
  /** The members of the ring, sorted by id, each id once. */
  readonly nodes: readonly RingNode[];
}

/**
 * Where the agreed ring lives (Redis, memory, ...). Every gateway reads and
 * watches it; coordinators write it with compare-and-set so concurrent
 * writers never lose an update.
 */
export interface RingStore {
  /** The current state, or `null` when no ring was ever stored. Rejects on bad stored data (`INVALID_SNAPSHOT`) or an unreachable backend. */
  read(): Promise<RingState | null>;
  /**
   * Replaces the ring if and only if the stored version is `expectedVersion`
   * (0 for "nothing stored yet"), storing `nodes` at `expectedVersion + 1`
   * and pushing the new state to every watcher. Resolves to the new state,
   * or to `null` when the version had moved on (read again and retry).
   * Rejects with `INVALID_NODE`/`DUPLICATE_NODE` before writing anything when
   * `nodes` is not a valid membership list.
   */
  compareAndSet(expectedVersion: number, nodes: readonly RingNode[]): Promise<RingState | null>;
  /**
   * Calls `listener` with new states as they are stored. Delivery is best
   * effort (a push can be lost or arrive twice, out of order), so consumers
   * compare versions and re-`read()` now and then. `onError` hears about
   * pushed data that failed validation and about subscription failures.
   * Returns a function that stops the watch.
   */
  watch(listener: (state: RingState) => void, onError?: (error: Error) => void): () => void;
  /** Stops all watches and releases what the store opened itself (never the caller's client). */
  close(): Promise<void>;
}

/** A change of membership, as pushed by {@link MembershipAdapter.watch}. */
export interface MembershipEvent {
  /**
   * `join`: a new id appeared; `leave`: a member left on purpose;
   * `expire`: a member stopped heartbeating and was reaped;
   * `update`: a live member re-joined with a different weight or meta.
   */
  readonly type: 'join' | 'leave' | 'expire' | 'update';
  /** The member (for `leave`/`expire`, as it was last known). */
  readonly node: RingNode;
}

/** A membership held by {@link MembershipAdapter.join}. */
export interface Membership {
  /** Removes the member now and stops its heartbeats. Idempotent. */
  leave(): Promise<void>;
}

/**
 * Who is alive. App nodes `join` (and are kept alive by heartbeats until they
 * `leave` or die); coordinators read `members()` and `watch` changes.
 */
export interface MembershipAdapter {
  /**
   * Registers `node` as alive and keeps it alive until `leave()`. Joining an
   * id that is already a live member replaces it (a restarted process) and
   * is reported as `update` when its weight or meta changed. Rejects with
   * `INVALID_NODE` for a bad node and `DUPLICATE_NODE` when this same adapter
   * already holds a live membership for the id.
   */
  join(node: RingNode): Promise<Membership>;
  /** The live members, sorted by id. */
  members(): Promise<RingNode[]>;
  /**
   * Calls `listener` on every change. Best effort like any push: consumers
   * that must not miss a change also re-read `members()` now and then.
   * Returns a function that stops the watch.
   */
  watch(listener: (event: MembershipEvent) => void, onError?: (error: Error) => void): () => void;
  /** Leaves every member this adapter joined, stops heartbeats and watches. */
  close(): Promise<void>;
}
