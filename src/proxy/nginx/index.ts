/**
 * ringroute/nginx: put nginx in front of the cluster as the gateway.
 * {@link nginxPlacement} makes a ring place keys exactly as nginx's
 * `hash $arg_<name> consistent;` does, so a ring diff names exactly the
 * users nginx moved; {@link renderNginxUpstream} writes the matching
 * `upstream` block. See `docs/proxies.md`.
 *
 * @packageDocumentation
 */
export { NGINX_POINTS_PER_WEIGHT, nginxPlacement, nginxServerOf } from './placement.js';
export { renderNginxUpstream, type NginxUpstreamOptions } from './render.js';
export { NginxSync, type NginxSyncEvents, type NginxSyncInfo, type NginxSyncOptions } from './sync.js';
