/**
 * The ring every process of a connection-storm run (bench/storm.ts) holds:
 * the same static member list in a private `MemoryRingStore` per process
 * (the ring is deterministic, so every process computes the same owners),
 * on the placement of the gateway in front: RingRouter's default one for
 * ringroute's gateway, `nginxPlacement()` or `haproxyPlacement()` for the
 * proxies, so the app nodes accept exactly the users the gateway sends them.
 */
import { MemoryRingStore, type Placement, RingRouter, type RingNode } from '../src/index.js';
import { haproxyPlacement } from '../src/proxy/haproxy/index.js';
import { nginxPlacement } from '../src/proxy/nginx/index.js';

/** Which placement a run's processes use: the gateway's. */
export type PlacementKind = 'default' | 'nginx' | 'haproxy';

/** The placement of a run, or undefined for RingRouter's default one. */
export function placementOf(kind: PlacementKind): Placement | undefined {
  return kind === 'nginx' ? nginxPlacement() : kind === 'haproxy' ? haproxyPlacement() : undefined;
}

/** A RingRouter on a private MemoryRingStore holding `members`. */
export async function staticRouter(members: readonly RingNode[], kind: PlacementKind): Promise<RingRouter> {
  const store = new MemoryRingStore();
  await store.compareAndSet(0, members);
  const placement = placementOf(kind);
  // Nothing ever changes the ring: resync rarely.
  return RingRouter.start({ store, resyncMs: 3_600_000, ...(placement === undefined ? {} : { placement }) });
}
