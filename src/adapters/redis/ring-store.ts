import { createHash, randomBytes } from 'node:crypto';
import type { RingState, RingStore } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNodes } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';
import { asError } from './channel.js';
import { Watchers } from './watchers.js';
import { SingleFlight } from '../../live/single-flight.js';
import { checkClient, type RedisClient } from './client.js';
import { DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { BAD_STATE_REPLY, CAS_SCRIPT, REPAIR_SCRIPT } from './scripts.js';
import { EPOCH, parseRingState } from './state.js';

/** Longest wait for the catch-up read after a re-subscription. */
const CATCH_UP_TIMEOUT_MS = 5000;

/** 64 random bits in hex: the client's part of a new epoch id (the script adds the server's time). */
function randomPart(): string {
  return randomBytes(8).toString('hex');
}

/** Default cap on the size of a stored ring state: 4 MiB. */
export const DEFAULT_MAX_STATE_BYTES = 4 * 1024 * 1024;
/** Largest accepted `maxStateBytes`: 512 MiB, the largest Redis string. */
export const MAX_STATE_BYTES_LIMIT = 512 * 1024 * 1024;

/** Options of a {@link RedisRingStore}. */
export interface RedisRingStoreOptions {
  /**
   * A connected client (ioredis `Redis` or `Cluster`, or anything that fits
   * {@link RedisClient}). The store runs commands on it, `duplicate()`s it
   * once for subscribing, and never closes it.
   */
  readonly redis: RedisClient;
  /**
   * Namespace of the keys and channels; becomes the cluster hash tag
   * `{prefix}`. 1 to 256 characters, no braces. Stores and memberships of
   * one cluster of gateways must use the same prefix.
   * @default "ringroute"
   */
  readonly prefix?: string;
  /**
   * Largest ring state, in UTF-8 bytes of JSON, that the store writes or
   * accepts from Redis; anything bigger is rejected as `INVALID_SNAPSHOT`
   * (read) or `INVALID_OPTION` (compareAndSet), so a runaway value can never
   * exhaust a gateway's memory. An integer in [1024, 512 MiB].
   * @default 4194304 (4 MiB)
   */
  readonly maxStateBytes?: number;
}

/**
 * A {@link RingStore} in Redis, on a single server or a Redis Cluster.
 *
 * The ring is one string key `{prefix}:ring` holding
 * `{"epoch":"E","version":N,"nodes":[...]}`; the first write into an empty
 * key creates the epoch id (server time in ms and 64 random bits), so data
 * lost with a Redis restart shows up as a new epoch. `compareAndSet` is a single Lua script that
 * checks the version, writes the new state and publishes it on
 * `{prefix}:ring:changes`, so two gateways can never both win a version.
 * `watch` listens on that channel through a duplicated connection and, after
 * every (re)subscription, re-reads the key so a watcher catches up with what
 * it missed while disconnected.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisRingStore } from 'ringroute/redis';
 * const store = new RedisRingStore({ redis: new Redis(process.env.REDIS_URL!), prefix: 'chat' });
 * ```
 */
export class RedisRingStore implements RingStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #maxBytes: number;
  readonly #watchers: Watchers<RingState>;
  readonly #catchUpFlight = new SingleFlight();
  #closed = false;

  constructor(options: RedisRingStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RingError('INVALID_OPTION', `RedisRingStore options must be an object like { redis, prefix }, got ${describe(options)}`);
    }
    checkClient(options.redis, 'RedisRingStore');
    const maxBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024 || maxBytes > MAX_STATE_BYTES_LIMIT) {
      throw new RingError(
        'INVALID_OPTION',
        `maxStateBytes must be an integer in [1024, ${MAX_STATE_BYTES_LIMIT}], got ${describe(maxBytes)}`,
      );
    }
    this.#redis = options.redis;
    this.#keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.#maxBytes = maxBytes;
    const channel = this.#keys.ringChanges;
    this.#watchers = new Watchers({
      redis: this.#redis,
      channel,
      parse: (message) => parseRingState(message, channel, maxBytes),
      what: 'ring state',
      subscribed: () => this.#catchUp(),
    });
  }

  /** The Redis key and channel names of this store's prefix. */
  get keys(): RedisKeys {
    return this.#keys;
  }

  /**
   * The stored state, or `null` when nothing is stored. Rejects with
   * `INVALID_SNAPSHOT` when the key holds anything but a valid state (bad
   * JSON, wrong field types, duplicate ids, over `maxStateBytes`, or a key
   * of another Redis type), and with the client's error when Redis is
   * unreachable.
   */
  async read(): Promise<RingState | null> {
    this.#assertOpen('read');
    const raw = await this.#readRaw();
    return raw === null ? null : parseRingState(raw, this.#keys.ring, this.#maxBytes);
  }

  /**
   * Atomically stores `nodes` at `expectedVersion + 1` and publishes the new
   * state, or resolves to `null` when the stored version (or, when given,
   * epoch) is not the expected one. The first write into an empty key starts
   * a new epoch. Rejects before writing anything with `INVALID_OPTION` (a bad
   * version or epoch, or a state over `maxStateBytes`), `INVALID_NODE` or
   * `DUPLICATE_NODE`; with `INVALID_SNAPSHOT` when the key holds a value
   * this store cannot read (see {@link RedisRingStore.repair}).
   */
  async compareAndSet(expectedVersion: number, nodes: readonly RingNode[], expectedEpoch?: string): Promise<RingState | null> {
    this.#assertOpen('compareAndSet');
    if (typeof expectedVersion !== 'number' || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new RingError('INVALID_OPTION', `expectedVersion must be a non-negative safe integer, got ${describe(expectedVersion)}`);
    }
    if (expectedEpoch !== undefined && (typeof expectedEpoch !== 'string' || !EPOCH.test(expectedEpoch))) {
      throw new RingError('INVALID_OPTION', `expectedEpoch must be an epoch id (1-64 letters, digits and dashes), got ${describe(expectedEpoch)}`);
    }
    const { valid, json } = this.#serialize(nodes);
    let reply: unknown;
    try {
      reply = await CAS_SCRIPT.run(this.#redis, [this.#keys.ring], [expectedVersion, json, this.#keys.ringChanges, expectedEpoch ?? '', randomPart()]);
    } catch (error) {
      if (error instanceof Error && (error.message.includes(BAD_STATE_REPLY) || error.message.startsWith('WRONGTYPE'))) {
        throw new RingError('INVALID_SNAPSHOT', `compareAndSet refused to overwrite ${this.#keys.ring}: it holds a value that is not a ring state (repair() replaces it)`, {
          cause: error,
        });
      }
      throw error;
    }
    return reply === null ? null : this.#written(reply, valid, 'compare-and-set');
  }

  /**
   * Replaces an unreadable value at `{prefix}:ring` (garbage, a foreign
   * format, a key of another Redis type) with `nodes` as version 1 of a new
   * epoch, atomically: only if the key still holds the very value found
   * unreadable. Resolves to `null` when the key holds a valid state or
   * nothing.
   */
  async repair(nodes: readonly RingNode[]): Promise<RingState | null> {
    this.#assertOpen('repair');
    const { valid, json } = this.#serialize(nodes);
    let seen: string;
    try {
      const raw = await this.#readRaw();
      if (raw === null) return null;
      try {
        parseRingState(raw, this.#keys.ring, this.#maxBytes);
        return null; // valid: nothing to repair
      } catch {
        seen = createHash('sha1').update(raw).digest('hex');
      }
    } catch (error) {
      if (!(error instanceof RingError && error.code === 'INVALID_SNAPSHOT')) throw error;
      seen = 'WRONGTYPE';
    }
    const reply = await REPAIR_SCRIPT.run(this.#redis, [this.#keys.ring], [seen, json, this.#keys.ringChanges, randomPart()]);
    return reply === null ? null : this.#written(reply, valid, 'repair');
  }

  /**
   * Calls `listener` with every state published on `{prefix}:ring:changes`
   * and, after each (re)subscription, with the stored state (so a state may
   * arrive twice; compare versions). Pushed data that fails validation, a
   * failed catch-up read, connection errors and exceptions thrown by
   * `listener` go to `onError`, never to `listener`. The first watch opens
   * the subscriber connection; stopping the last watch closes it.
   */
  watch(listener: (state: RingState) => void, onError?: (error: Error) => void): () => void {
    this.#assertOpen('watch');
    return this.#watchers.add(listener, onError);
  }

  /** Stops every watch and closes the subscriber connection. The caller's client stays open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watchers.close();
  }

  async #readRaw(): Promise<string | null> {
    try {
      return await this.#redis.get(this.#keys.ring);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
        throw new RingError('INVALID_SNAPSHOT', `${this.#keys.ring} holds a Redis value of the wrong type; expected a string`, { cause: error });
      }
      throw error;
    }
  }

  #serialize(nodes: readonly RingNode[]): { valid: RingNode[]; json: string } {
    const valid = normalizeNodes(nodes);
    const json = JSON.stringify(valid);
    // The stored state adds `{"epoch":"...","version":N,"nodes":` and `}` around the list.
    const bytes = Buffer.byteLength(json, 'utf8') + 120;
    if (bytes > this.#maxBytes) {
      throw new RingError('INVALID_OPTION', `the ring state would be about ${bytes} bytes; maxStateBytes is ${this.#maxBytes}`);
    }
    return { valid, json };
  }

  #written(reply: unknown, valid: RingNode[], what: string): RingState {
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'string') {
      throw new Error(`unexpected reply from the ${what} script: ${describe(reply)}`);
    }
    return Object.freeze({ epoch: reply[1], version: reply[0], nodes: Object.freeze(valid) });
  }

  #catchUp(): void {
    // At most one catch-up read per store, however often the connection flaps.
    if (this.#catchUpFlight.busy) return;
    this.#catchUpFlight.run(() => this.read(), CATCH_UP_TIMEOUT_MS, 'the catch-up read after re-subscribing').then(
      (state) => {
        if (state !== null && !this.#closed) this.#watchers.deliver(state);
      },
      (error: unknown) => {
        if (!this.#closed) this.#watchers.fail(asError(error, 'catch-up read failed'));
      },
    );
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new RingError('CLOSED', `RedisRingStore.${method}() called after close()`);
  }
}
