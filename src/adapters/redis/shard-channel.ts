import type { ChannelHandlers } from './channel.js';
import { asError } from './channel.js';
import { hashSlot } from './slot.js';

/**
 * A connection that can be duplicated with option overrides: an ioredis
 * `Redis` (single server or Sentinel) or one node connection of a `Cluster`.
 */
export interface RedisShardSource {
  /** A new connection to the same server with `override` applied. The subscription closes it. */
  duplicate(override?: Readonly<Record<string, unknown>>): RedisShardSubscriberClient;
}

/** A connection in sharded subscriber mode (ioredis `Redis` on Redis 7 or later). */
export interface RedisShardSubscriberClient {
  /** Subscribes to shard channels (one slot); resolves once the server confirmed, rejects with `MOVED` when another master serves the slot. */
  ssubscribe(...channels: string[]): Promise<unknown>;
  /** `ROLE`: resolves to an array whose first element is `master` or `slave`. */
  role(): Promise<unknown>;
  /** A message published with `SPUBLISH` on a subscribed shard channel. */
  on(event: 'smessage', listener: (channel: string, message: string) => void): unknown;
  /** A connection error. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** `moved`: the server unsubscribed the channel (its slot migrated or the master became a replica) or answered `MOVED`; `end`: the connection is gone for good. */
  on(event: 'moved' | 'end', listener: () => void): unknown;
  /** Closes the connection gracefully. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}

/** The parts of an ioredis `Cluster` that locate the master of a slot. */
export interface RedisClusterTopology {
  /** Slot to node keys (`host:port`), master first, as last fetched from the cluster. */
  readonly slots: ReadonlyArray<ReadonlyArray<string> | undefined>;
  /** The cluster's connections to its masters. */
  nodes(role: 'master'): ReadonlyArray<RedisShardSource & { readonly options: { readonly host?: string | undefined; readonly port?: number | undefined } }>;
  /** Fetches the slot map again; calls back when done (with an error when no node answered). */
  refreshSlotsCache(callback?: (error?: Error | null) => void): void;
}

/**
 * Where a shard channel's subscription connects: called before every
 * (re)connect, `moved` true after a failure. `mastersOnly` (a Cluster):
 * subscribe only on a master, since a replica of the slot's master accepts
 * `SSUBSCRIBE` too and gets the messages, but the master's `SPUBLISH` would
 * not count that subscriber.
 */
export interface ShardLocator {
  (moved: boolean): Promise<RedisShardSource>;
  readonly mastersOnly?: boolean;
}

/**
 * Options of every connection a {@link ShardChannelSubscription} opens: it
 * reconnects and resubscribes itself, on the master it locates again, and
 * subscribes to the channel's full name (ioredis would prepend a `keyPrefix`
 * to the SSUBSCRIBE argument, as to SPUBLISH's, but not to the name in the
 * messages).
 */
const CONNECTION_OVERRIDES = Object.freeze({ autoResubscribe: false, retryStrategy: null, lazyConnect: false, enableOfflineQueue: true, keyPrefix: '' });

/** How long `close()` waits for a graceful QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 1000;
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

/**
 * One shard channel (`SSUBSCRIBE`) on a connection of its own to the master
 * that serves its slot. When the slot moves (the server's `sunsubscribe`
 * push or a `MOVED` reply), the master fails over or the connection drops,
 * the connection is closed, the master located again (after a slot map
 * refresh on a Cluster) and the channel subscribed on a new connection, with
 * a backoff of 50 ms doubling to 2 s; `subscribed` fires after each
 * confirmation so the owner can catch up with what it missed.
 */
export class ShardChannelSubscription {
  readonly #channel: string;
  readonly #handlers: ChannelHandlers & { refused?(error: Error): void };
  readonly #locate: ShardLocator;
  #client: RedisShardSubscriberClient | null = null;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(locate: ShardLocator, channel: string, handlers: ChannelHandlers & { refused?(error: Error): void }) {
    this.#locate = locate;
    this.#channel = channel;
    this.#handlers = handlers;
    void this.#connect(false);
  }

  async #connect(moved: boolean): Promise<void> {
    if (this.#closed) return;
    let source: RedisShardSource;
    try {
      source = await this.#locate(moved);
    } catch (error) {
      this.#retry(asError(error, `locating the master of ${this.#channel} failed`));
      return;
    }
    if (this.#closed) return;
    const client = source.duplicate(CONNECTION_OVERRIDES);
    this.#client = client;
    const current = (): boolean => !this.#closed && this.#client === client;
    client.on('smessage', (from, message) => {
      if (current() && from === this.#channel) this.#handlers.message(message);
    });
    // Always listen for errors, even after close: an 'error' event with no listener is logged as unhandled.
    client.on('error', (error) => {
      if (current()) this.#handlers.error(error);
    });
    client.on('moved', () => {
      if (current()) this.#drop(client, new Error(`the shard channel ${this.#channel} moved (its slot migrated or its master failed over); subscribing on its new master`));
    });
    client.on('end', () => {
      if (current()) this.#drop(client, new Error(`the connection of shard channel ${this.#channel} closed; subscribing again`));
    });
    if (this.#locate.mastersOnly === true) {
      // A slot map read from a node that had not yet heard of a failover names the old master, now a replica.
      // Sent before SSUBSCRIBE, so a replica is dropped before its subscription counts as confirmed.
      client.role().then(
        (role) => {
          if (current() && Array.isArray(role) && role[0] !== 'master') {
            this.#drop(client, new Error(`the node located for shard channel ${this.#channel} is a replica (a failover is under way); locating its master again`));
          }
        },
        () => undefined, // the connection failed: its 'end' or the SSUBSCRIBE reports it
      );
    }
    client.ssubscribe(this.#channel).then(
      () => {
        if (!current()) return;
        this.#failures = 0;
        this.#handlers.subscribed();
      },
      (error: unknown) => {
        if (!current()) return;
        const failure = asError(error, `subscribing to ${this.#channel} failed`);
        if (/unknown command/i.test(failure.message)) {
          // SSUBSCRIBE needs Redis 7: retrying cannot help.
          this.#client = null;
          client.disconnect();
          this.#handlers.error(failure);
          this.#handlers.refused?.(failure);
          return;
        }
        this.#drop(client, failure);
      },
    );
  }

  /** Reports `error`, drops `client` and subscribes again after the backoff. */
  #drop(client: RedisShardSubscriberClient, error: Error): void {
    this.#client = null;
    client.disconnect();
    this.#retry(error);
  }

  #retry(error: Error): void {
    if (this.#closed) return;
    this.#handlers.error(error);
    const delay = Math.min(FIRST_RETRY_MS * 2 ** this.#failures, MAX_RETRY_MS);
    this.#failures++;
    this.#timer = setTimeout(() => void this.#connect(true), delay);
  }

  /** Closes the connection (unsubscribing) and stops re-subscribing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), QUIT_TIMEOUT_MS);
      timer.unref();
    });
    const quit = client.quit().then(
      () => true,
      () => false,
    );
    const graceful = await Promise.race([quit, timeout]);
    clearTimeout(timer);
    if (!graceful) client.disconnect();
  }
}

/** Locates the master of `channel`'s slot on `cluster`, refreshing the slot map first after a failure or when it does not know the slot yet. */
export function clusterLocator(cluster: RedisClusterTopology, channel: string): ShardLocator {
  const slot = hashSlot(channel);
  const refresh = (): Promise<void> => new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
  const locate = async (moved: boolean): Promise<RedisShardSource> => {
    if (moved || cluster.slots[slot]?.[0] === undefined) await refresh();
    const key = cluster.slots[slot]?.[0];
    if (key === undefined) throw new Error(`no master serves slot ${slot} of ${channel} (is the cluster up?)`);
    const node = cluster.nodes('master').find((n) => `${n.options.host ?? '127.0.0.1'}:${n.options.port ?? 6379}` === key);
    if (node === undefined) throw new Error(`the master ${key} of slot ${slot} (${channel}) is not connected yet`);
    return node;
  };
  return Object.assign(locate, { mastersOnly: true });
}
