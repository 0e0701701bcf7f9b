/**
 * ringroute/haproxy: put HAProxy in front of the cluster as the gateway.
 * {@link haproxyPlacement} makes a ring place keys exactly as HAProxy's
 * `balance url_param` with `hash-type consistent` does, so a ring diff names
 * exactly the users HAProxy moved; {@link renderHaproxyBackend} writes the
 * matching `backend` section. See `docs/proxies.md`.
 *
 * @packageDocumentation
 */
export { HAPROXY_POINTS_PER_WEIGHT, MAX_HAPROXY_ID, haproxyIdOf, haproxyPlacement, type HaproxyPlacementOptions } from './placement.js';
export { type HaproxyHashFunction } from './hashes.js';
export { haproxyAddressOf, haproxyServerName, renderHaproxyBackend, type HaproxyBackendOptions } from './render.js';
export { haproxyCommand } from './runtime.js';
export { HaproxySync, type HaproxyRemoval, type HaproxySyncEvents, type HaproxySyncInfo, type HaproxySyncOptions } from './sync.js';
