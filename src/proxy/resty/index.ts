/**
 * ringroute/resty: ingress-nginx or Apache APISIX as the gateway.
 * {@link restyChashPlacement} makes a ring place keys exactly as
 * lua-resty-balancer's `resty.chash` does, the consistent hash behind
 * ingress-nginx's `upstream-hash-by` and APISIX's `type: chash`, so a ring
 * diff names exactly the users the gateway moved. See `docs/proxies.md`.
 *
 * @packageDocumentation
 */
export { RESTY_POINTS_PER_WEIGHT, reduceApisixWeights, restyChashPlacement, restyServerOf, type RestyChashOptions, type RestyServers } from './placement.js';
