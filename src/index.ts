/**
 * ringroute: consistent-hash routing for clusters.
 *
 * The core is a pure {@link HashRing} with virtual nodes and weights, whose
 * changes return a {@link RingDiff} naming exactly the keys that move. Around
 * it, {@link RingRouter} keeps a gateway's ring current from a {@link RingStore}
 * and {@link RingCoordinator} writes membership into the store. In-memory
 * adapters are exported here; Redis ones from `ringroute/redis`.
 *
 * @packageDocumentation
 */
export { HashRing, diffRings } from './ring/hash-ring.js';
export { createXxHash32 } from './ring/hasher.js';
export { hashPlacement, type Placement, type PointPlacement } from './ring/placement.js';
export type { PlacementTable, TablePlacement } from './ring/table.js';
export { MAGLEV_TABLE_SIZE, maglevPlacement, type MaglevOptions } from './ring/maglev.js';
export { RingError, type RingErrorCode } from './errors.js';
export { DEFAULT_VNODES, MAX_ID_LENGTH, MAX_META_ENTRIES, MAX_META_LENGTH, MAX_POINTS, MAX_VNODES, MAX_WEIGHT } from './ring/limits.js';
export type { Hasher, HashRingOptions, MovedRange, RingDiff, RingNode, RingSnapshot } from './ring/types.js';
export type { Membership, MembershipAdapter, MembershipLease, MembershipEvent, RingState, RingStore } from './live/contracts.js';
export { MemoryRingStore } from './adapters/memory/ring-store.js';
export { MemoryMembership, type MemoryMember, type MemoryMembershipOptions } from './adapters/memory/membership.js';
export { RingRouter, type RingRouterEvents, type RingRouterOptions } from './live/router.js';
export { RingCoordinator, type RingCoordinatorEvents, type RingCoordinatorOptions } from './live/coordinator.js';
export { groupByOwner, type OwnerLookup } from './ring/group-by-owner.js';
export { MAX_ADDRESS_LENGTH, type Transport } from './live/transport.js';
export { MemoryTransport } from './adapters/memory/transport.js';
export type { LogEntry, LogLevel, Logger } from './live/logger.js';
