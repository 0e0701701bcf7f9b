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
import { explain } from './external-sentinel.js';
import { Relays } from './relay.js';
import type { FailoverReport } from './store.js';

/**
 * Why the Redis at `url` cannot serve the run, in one line (it does not
 * answer, or wants a password the URL does not give or refuses the one it
 * gives), or null when it answers PING.
 */
export async function redisProblem(url: string): Promise<string | null> {
  const target = new URL(url);
  const where = `${target.protocol}//${target.hostname}:${target.port || 6379}`;
  const probe = new Redis(url, { ...redisOptions(url), lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, commandTimeout: 3000, retryStrategy: () => null });
  let failure: Error | null = null;
  probe.on('error', (error: Error) => void (failure = error));
  try {
    await probe.connect();
    await probe.ping();
    return null;
  } catch (error) {
    // A refused connection surfaces as "Connection is closed."; the error event said why.
    return explain(failure ?? error, `the Redis at ${where}`, 'the password rides in the URL: redis://user:password@host:port');
  } finally {
    probe.disconnect();
  }
}

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
    const problem = await redisProblem(url);
    if (problem !== null) throw new Error(problem);
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
