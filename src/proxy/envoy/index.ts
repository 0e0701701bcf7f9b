/**
 * ringroute/envoy: Envoy as the gateway (Istio, Envoy Gateway, Contour and
 * other Envoy-based gateways). {@link envoyRingHashPlacement} and
 * {@link envoyMaglevPlacement} make a ring place keys exactly as Envoy's
 * `ring_hash` and `maglev` load balancers do, so a ring diff names exactly
 * the users Envoy moved, including those a join moves between pods that
 * stay. See `docs/proxies.md`.
 *
 * @packageDocumentation
 */
export { ENVOY_MAX_RING_SIZE, ENVOY_MIN_RING_SIZE, envoyRingHashPlacement, type EnvoyPlacement, type EnvoyRingHashOptions } from './ring-hash.js';
export { ENVOY_MAGLEV_MAX_TABLE_SIZE, ENVOY_MAGLEV_TABLE_SIZE, envoyMaglevPlacement, type EnvoyMaglevOptions } from './maglev.js';
export { envoyRequestKey, type EnvoyHashPolicy, type EnvoyRequest } from './hash-policy.js';
export { envoyHashKeyOf, type EnvoyHostOptions } from './hosts.js';
