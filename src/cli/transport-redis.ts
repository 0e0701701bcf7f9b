/**
 * The redis transport: the pub/sub transport (see `transport-pubsub.ts`) on
 * Redis pub/sub. Broadcast publishes on one shared channel that every node
 * subscribes to, hash on the owner's own channel. Redis counts the
 * subscribers each PUBLISH reached, and its `INFO cpu` gives the server's
 * CPU, which the report adds to the total.
 */
import { type BenchRedis, connectRedis, redisCpuSeconds } from './redis-client.js';
import { type NodeBus, type PubSubBackend, pubsubTransport } from './transport-pubsub.js';
import type { Transport } from './transport.js';
import type { WorkerCommand } from './worker-pool.js';

/** Options of {@link redisTransport}. */
export interface RedisTransportOptions {
  readonly url: string;
  /** Messages per second offered by the gateway; 0 = as fast as Redis takes them. */
  readonly rate: number;
  /** @default the CLI entry next to this module (through tsx when running from source) */
  readonly worker?: WorkerCommand;
}

/** The channel every node of a cluster subscribes to, for broadcast. */
export function broadcastChannel(prefix: string): string {
  return `${prefix}:all`;
}

/** A node's own channel, for hash routing. */
export function nodeChannel(prefix: string, nodeId: string): string {
  return `${prefix}:node:${nodeId}`;
}

/**
 * Connects the gateway's publisher to `url`.
 * @throws UsageError when ioredis is missing; Error when Redis cannot be reached.
 */
export async function redisTransport(options: RedisTransportOptions): Promise<Transport> {
  const pub = await connectRedis(options.url);
  const backend: PubSubBackend = {
    name: 'redis',
    label: 'Redis',
    url: options.url,
    countsListeners: true,
    async publisher(prefix) {
      return {
        publish: (nodeId, payload) => pub.publish(nodeId === null ? broadcastChannel(prefix) : nodeChannel(prefix, nodeId), payload),
        async close() {},
      };
    },
    serverCpuSeconds: () => redisCpuSeconds(pub),
    async close() {
      await pub.quit().catch(() => pub.disconnect());
    },
  };
  return pubsubTransport(backend, options);
}

/** A worker's Redis connection: subscribes to the two channels of the cluster it is a node of. */
export async function redisNodeBus(url: string): Promise<NodeBus> {
  const sub: BenchRedis = await connectRedis(url);
  let deliver: (payload: string) => void = () => {};
  sub.on('message', (_channel, payload) => deliver(payload));
  return {
    async join(prefix, nodeId, onMessage) {
      await sub.unsubscribe();
      deliver = onMessage;
      await sub.subscribe(broadcastChannel(prefix), nodeChannel(prefix, nodeId));
    },
    async leave() {
      deliver = () => {};
      await sub.unsubscribe();
    },
    async close() {
      await sub.quit().catch(() => sub.disconnect());
    },
  };
}
