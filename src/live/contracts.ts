import type { RingNode } from '../ring/types.js';

/**
 * The agreed ring of a cluster at one version of one epoch.
 *
 * An **epoch** is one generation of the stored data: the store creates a new
 * epoch id with the first write into an empty store (or when a coordinator
 * repairs garbage), so a store that lost its data (a Redis restart without
 * persistence, a fail-over to an empty replica) is recognisable as a new
 * generation. Within an epoch, versions start at 1 and grow by exactly one on
 * every change. States are ordered by (epoch, version): a consumer takes an
 * older version of the epoch it holds only when the store itself went back
 * (writes lost in a fail-over; `RingRouter` believes it after two reads in a
 * row and reports `CONFLICT`), and it moves to a different epoch
 * only after reading that epoch from the store (epochs cannot be ordered
 * against each other by data, since nothing of the old one survives).
 */
export interface RingState {
  /** Id of the generation of stored data this state belongs to; compare for equality only. */
  readonly epoch: string;
  /** Version within the epoch: 1 for the first state, bumped by every successful `compareAndSet`. */
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
  /**
   * The current state, or `null` when nothing is stored (never written, or
   * the data was lost). Rejects on bad stored data (`INVALID_SNAPSHOT`) or an
   * unreachable backend. This is the store's truth: consumers apply only
   * states they read.
   */
  read(): Promise<RingState | null>;
  /**
   * Replaces the ring if and only if the stored version is `expectedVersion`
   * (0 for "nothing stored": the write then starts a new epoch) and, when
   * `expectedEpoch` is given, the stored epoch is `expectedEpoch`. Stores
   * `nodes` at `expectedVersion + 1` and pushes the new state to every
   * watcher. Resolves to the new state, or to `null` when the stored state
   * had moved on (read again and retry). Rejects with
   * `INVALID_NODE`/`DUPLICATE_NODE` before writing anything when `nodes` is
   * not a valid membership list, and with `INVALID_SNAPSHOT` when the store
   * holds a value it cannot read (see {@link RingStore.repair}).
   */
  compareAndSet(expectedVersion: number, nodes: readonly RingNode[], expectedEpoch?: string): Promise<RingState | null>;
  /**
   * Replaces an unreadable stored value (one that makes `read()` reject with
   * `INVALID_SNAPSHOT`) with `nodes` as version 1 of a new epoch. Resolves
   * to the new state, or to `null` when the store holds a valid state or
   * nothing at all by the time the write would happen (someone repaired it
   * first, or the value is gone: read again). Rejects like `compareAndSet`
   * for a bad `nodes` list.
   */
  repair(nodes: readonly RingNode[]): Promise<RingState | null>;
  /**
   * Calls `listener` with new states as they are stored. Delivery is best
   * effort (a push can be lost or arrive twice, out of order), and a push is
   * only a hint: anyone able to publish can forge one. Consumers re-`read()`
   * the store when a push announces something new, and now and then anyway.
   * `onError` hears about pushed data that failed validation and about
   * subscription failures. Returns a function that stops the watch.
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
  /**
   * How long this process may still act as the member: the basis of
   * self-fencing (`SessionNode.followLease`). Read it when needed; it moves
   * forward with every heartbeat the store confirms. Adapters whose members
   * cannot expire while the process runs may leave it out (nothing fences).
   */
  readonly lease?: MembershipLease;
}

/**
 * A member's lease, as far as its own process can know it. Adapter authors:
 * `until` must never lie beyond the earliest moment the store could treat
 * the member as expired, so a node that stops acting at `until` has stopped
 * before the ring can hand its keys to anyone else.
 */
export interface MembershipLease {
  /**
   * `performance.now()` of this process up to which the store certainly
   * still holds the membership: for a heartbeat the store confirmed, the
   * moment it was *sent* (the store applied it later) plus the ttl, less
   * what a fail-over can lose (see each adapter). `Infinity` while the member
   * cannot expire, and after `leave()` (a member that left is out of the
   * ring, and its handoff, not a lease, decides when its sessions go).
   */
  readonly until: number;
  /** The full length of a lease: the adapter's ttl, in ms. */
  readonly ttlMs: number;
}

/**
 * Who is alive. App nodes `join` (and are kept alive by heartbeats until they
 * `leave` or die); coordinators read `members()` and `watch` changes.
 */
export interface MembershipAdapter {
  /**
   * How long a member stays alive without a heartbeat, in ms, when the
   * adapter has such a notion. A `RingCoordinator` uses it as the
   * default grace period during which members re-register after the store
   * lost its data or was unreachable.
   */
  readonly ttlMs?: number;
  /**
   * Registers `node` as alive and keeps it alive until `leave()`. Joining an
   * id that is already a live member replaces it (a restarted process) and
   * is reported as `update` when its weight or meta changed. Rejects with
   * `INVALID_NODE` for a bad node and `DUPLICATE_NODE` when this same adapter
   * already holds a live membership for the id.
   */
  join(node: RingNode): Promise<Membership>;
  /**
   * The live members, sorted by id. A record that fails validation is
   * skipped and reported to the watchers' `onError` (naming the member id),
   * so one bad record never hides every other change. Rejects when the
   * membership as a whole cannot be read (backend unreachable, or data that
   * had to be repaired: the live members re-register on their next
   * heartbeat).
   */
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
