/**
 * `--redis URL`: the chaos run on a Redis the user already runs, instead of
 * its own Sentinel set. The parts live in network namespaces that cannot
 * reach a Redis bound to loopback, so the runner relays: it listens on the
 * store's address and pipes every connection to the URL's host and port
 * (TLS and credentials pass through untouched). A partition from the store
 * cuts that address, as with the run's own Redis. A pause is
 * `CLIENT PAUSE <ms> ALL` (every client waits, nothing is answered), and a
 * single Redis cannot fail over: that kind is not run. The run's keys are
 * deleted at the end.
 */
import { Redis } from 'ioredis';
import { redisOptions } from '../cluster/redis-url.js';
import { deletePrefix } from '../cluster/redis-engine.js';
import { Relays } from './relay.js';
import type { FailoverReport } from './store.js';

export class ExternalRedis {
  /** The URL the parts use: the relay on the store's address. */
  readonly relayUrl: string;
  readonly #url: string;
  readonly #relays: Relays;

  private constructor(url: string, relayUrl: string, relays: Relays) {
    this.#url = url;
    this.relayUrl = relayUrl;
    this.#relays = relays;
  }

  /** Checks that `url` answers, then relays `storeAddress:<free port>` to it. */
  static async start(url: string, storeAddress: string): Promise<ExternalRedis> {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port || 6379);
    const probe = new Redis(url, { ...redisOptions(url), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
    } catch (error) {
      throw new Error(`--redis ${target.protocol}//${host}:${port} does not answer: ${(error as Error).message}`);
    } finally {
      probe.disconnect();
    }
    const relays = new Relays(storeAddress);
    const relay = await relays.add({ host, port });
    const relayTarget = new URL(url);
    relayTarget.hostname = storeAddress;
    relayTarget.port = String(relay.port);
    return new ExternalRedis(url, relayTarget.toString(), relays);
  }

  /** Pauses every client of the Redis for `ms` (CLIENT PAUSE ... ALL). */
  async pause(ms: number): Promise<void> {
    const redis = new Redis(this.#url, redisOptions(this.#url));
    redis.on('error', () => undefined);
    try {
      await redis.call('CLIENT', 'PAUSE', String(ms), 'ALL');
    } finally {
      redis.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  failover(): Promise<FailoverReport> {
    return Promise.reject(new Error('a single Redis cannot fail over (--sentinel, or the run\'s own set, has fail-overs)'));
  }

  /** Closes the relay and deletes the run's keys. */
  async destroy(prefix?: string): Promise<void> {
    await this.#relays.close();
    if (prefix !== undefined) await deletePrefix(this.#url, prefix).catch(() => undefined);
  }
}
