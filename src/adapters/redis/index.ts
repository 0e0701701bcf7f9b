/**
 * Redis adapters for ringroute: {@link RedisRingStore} keeps the agreed ring
 * in one key written by an atomic compare-and-set Lua script, and
 * {@link RedisMembership} tracks live members with heartbeats and a
 * server-clock expiry set. Both work on a single Redis server and on a Redis
 * Cluster (all keys of a prefix share the hash tag `{prefix}`), publish every
 * change on a channel, and take a client you built (ioredis `Redis` or
 * `Cluster`, an optional peer dependency that this module never imports).
 * See `docs/adapters.md` for the data model and failure behaviour.
 */
export type { RedisClient, RedisSubscriberClient } from './client.js';
export { DEFAULT_PREFIX, MAX_PREFIX_LENGTH, redisKeys, type RedisKeys } from './keys.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_TTL_MS,
  MAX_TTL_MS,
  MIN_HEARTBEAT_MS,
  RedisMembership,
  type RedisMembershipHandle,
  type RedisMembershipOptions,
} from './membership.js';
export { DEFAULT_MAX_STATE_BYTES, MAX_STATE_BYTES_LIMIT, RedisRingStore, type RedisRingStoreOptions } from './ring-store.js';
export type { RedisClusterTopology, RedisShardSource, RedisShardSubscriberClient } from './shard-channel.js';
export { RedisTransport, type RedisTransportClient, type RedisTransportOptions } from './transport.js';
