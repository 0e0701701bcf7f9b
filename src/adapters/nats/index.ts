/**
 * NATS adapters for ringroute: {@link NatsRingStore} keeps the agreed ring in
 * a JetStream KV bucket written with compare-and-set on the key's revision,
 * {@link NatsMembership} keeps live members in a KV bucket whose max age is
 * the member ttl, renewed by heartbeats, and {@link NatsTransport} carries
 * messages on core NATS subjects, one per address, telling "nobody listens"
 * apart with the server's no-responders status. All three take the
 * connection you made (`connect()` from `@nats-io/transport-node`) and never
 * close it; `@nats-io/jetstream` and `@nats-io/kv` are optional peer
 * dependencies that only this entry imports. Needs nats-server 2.9 or newer
 * with JetStream. See `docs/adapters.md` ("NATS adapters").
 */
export type { NatsConnection, NatsMessage, NatsSubscription } from './bucket.js';
export { DEFAULT_NATS_TIMEOUT_MS } from './bucket.js';
export { DEFAULT_NATS_PREFIX, MAX_NATS_PREFIX_LENGTH, addressToken, memberKey, natsNames, type NatsNames } from './names.js';
export { DEFAULT_NATS_MAX_STATE_BYTES, NatsRingStore, RING_HISTORY, RING_KEY, type NatsRingStoreOptions } from './ring-store.js';
export {
  DEFAULT_NATS_HEARTBEAT_MS,
  DEFAULT_NATS_TTL_MS,
  MAX_NATS_TTL_MS,
  MIN_NATS_HEARTBEAT_MS,
  NatsMembership,
  type NatsMembershipHandle,
  type NatsMembershipOptions,
} from './membership.js';
export { NatsTransport, type NatsTransportOptions } from './transport.js';
