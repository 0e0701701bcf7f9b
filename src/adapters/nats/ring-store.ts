import { randomBytes } from 'node:crypto';
import type { KV, KvEntry } from '@nats-io/kv';
import type { RingState, RingStore } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { normalizeNodes } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';
import {
  DEFAULT_NATS_TIMEOUT_MS,
  KvBucket,
  checkConnection,
  checkReplicas,
  checkTimeout,
  connectionClosed,
  isClosed,
  wrongRevision,
  type NatsConnection,
} from './bucket.js';
import { Fanout } from './fanout.js';
import { KvWatchLoop } from './kv-watch.js';
import { DEFAULT_NATS_PREFIX, natsNames, type NatsNames } from './names.js';
import { EPOCH, parseRingState } from './state.js';

/** The key of the ring in its bucket. */
export const RING_KEY = 'ring';

/** Default cap on the size of a stored ring state: 4 MiB (the server's `max_payload`, 1 MiB by default, usually binds first). */
export const DEFAULT_NATS_MAX_STATE_BYTES = 4 * 1024 * 1024;

/**
 * Ring states the bucket keeps (JetStream KV history). A KV watch is a
 * consumer that reads the stream behind the writers: with history 1 each
 * write deletes the state before it, so a watcher lagging one write behind
 * (a busy process, a consumer on another server of a cluster) never sees
 * that state and skips to the next. Kept states let it push every state
 * while it lags less than this many writes; past that it skips to the newest
 * (a push is only a hint: the router reads the store anyway).
 */
export const RING_HISTORY = 8;

/** Room left in a message for the JetStream headers (expected revision, operation) next to the value. */
export const HEADER_ALLOWANCE_BYTES = 512;

/** Options of a {@link NatsRingStore}. */
export interface NatsRingStoreOptions {
  /**
   * Your NATS connection (`await connect({ servers })` from
   * `@nats-io/transport-node`), with JetStream enabled on the server. The
   * store makes JetStream and KV clients on it and never closes it.
   */
  readonly nats: NatsConnection;
  /**
   * Namespace of the buckets and subjects: the ring lives in the KV bucket
   * `<prefix>-ring`. 1 to 64 letters, digits, `_` or `-`. Stores and
   * memberships of one cluster of gateways must use the same prefix.
   * @default "ringroute"
   */
  readonly prefix?: string;
  /**
   * Largest ring state, in UTF-8 bytes of JSON, that the store writes or
   * accepts. A write is also refused when it would not fit the server's
   * `max_payload` (1 MiB by default). An integer in [1024, 64 MiB].
   * @default 4194304 (4 MiB)
   */
  readonly maxStateBytes?: number;
  /**
   * Replicas of the bucket when this store creates it (1, 3 or 5; 3 on a
   * JetStream cluster survives losing the stream leader without losing an
   * acknowledged write). An existing bucket keeps its own setting.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Longest wait for one JetStream call, in ms.
   * @default 2000
   */
  readonly timeoutMs?: number;
}

/**
 * A {@link RingStore} in a NATS JetStream KV bucket.
 *
 * The ring is the key `ring` of the bucket `<prefix>-ring` (history 8, see {@link RING_HISTORY}),
 * holding `{"epoch":"E","version":N,"nodes":[...]}`; nothing else may be
 * written to that bucket. `compareAndSet` reads the entry, checks the version
 * and epoch, and writes the next version expecting the entry's revision to
 * be the stream's last sequence, so the server refuses the write if anyone
 * wrote in between: two gateways can never both win a version. The first write into an empty key starts a new epoch
 * (this process's clock in ms and 64 random bits), so a store that lost its
 * data (a bucket deleted, a server restarted empty) shows up as a new epoch.
 * `watch` is a KV watch of the key, which starts with the stored value (the
 * catch-up) and resumes after reconnects.
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * import { NatsRingStore } from 'ringroute/nats';
 * const nc = await connect({ servers: '127.0.0.1:4222' });
 * const store = new NatsRingStore({ nats: nc, prefix: 'chat' });
 * ```
 */
export class NatsRingStore implements RingStore {
  readonly #nc: NatsConnection;
  readonly #names: NatsNames;
  readonly #maxBytes: number;
  readonly #bucket: KvBucket;
  readonly #watchers = new Fanout<RingState>('ring state');
  #loop: KvWatchLoop | null = null;
  #closed = false;

  constructor(options: NatsRingStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RingError('INVALID_OPTION', `NatsRingStore options must be an object like { nats, prefix }, got ${describe(options)}`);
    }
    checkConnection(options.nats, 'NatsRingStore');
    const maxBytes = options.maxStateBytes ?? DEFAULT_NATS_MAX_STATE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024 || maxBytes > 64 * 1024 * 1024) {
      throw new RingError('INVALID_OPTION', `maxStateBytes must be an integer in [1024, ${64 * 1024 * 1024}], got ${describe(maxBytes)}`);
    }
    const replicas = options.replicas ?? 1;
    checkReplicas(replicas);
    const timeoutMs = options.timeoutMs ?? DEFAULT_NATS_TIMEOUT_MS;
    checkTimeout(timeoutMs);
    this.#nc = options.nats;
    this.#names = natsNames(options.prefix ?? DEFAULT_NATS_PREFIX);
    this.#maxBytes = maxBytes;
    this.#bucket = new KvBucket(this.#nc, this.#names.ringBucket, { ttlMs: 0, history: RING_HISTORY, replicas, timeoutMs }, 'NatsRingStore');
  }

  /** The bucket and subject names of this store's prefix. */
  get names(): NatsNames {
    return this.#names;
  }

  /**
   * The stored state, or `null` when nothing is stored (no bucket, no key, or
   * a deleted key). Rejects with `INVALID_SNAPSHOT` when the key holds
   * anything but a valid state, `CLOSED` when the connection is closed, and
   * the client's error when the server cannot be reached.
   */
  async read(): Promise<RingState | null> {
    this.#assertOpen('read');
    return this.#bucket.run(async (kv) => {
      const entry = await getRing(kv);
      return live(entry) === null ? null : this.#parse(entry!);
    });
  }

  /**
   * Stores `nodes` at `expectedVersion + 1` if the stored version (and, when
   * given, epoch) is the expected one, with the read entry's revision as the
   * expected last revision, so a write in between makes the server refuse it
   * (resolved as `null`). Rejects before writing anything with
   * `INVALID_OPTION` (a bad version or epoch, a state over `maxStateBytes`
   * or the server's `max_payload`), `INVALID_NODE` or `DUPLICATE_NODE`, and
   * with `INVALID_SNAPSHOT` when the key holds a value this store cannot
   * read (see {@link NatsRingStore.repair}).
   */
  async compareAndSet(expectedVersion: number, nodes: readonly RingNode[], expectedEpoch?: string): Promise<RingState | null> {
    this.#assertOpen('compareAndSet');
    if (typeof expectedVersion !== 'number' || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new RingError('INVALID_OPTION', `expectedVersion must be a non-negative safe integer, got ${describe(expectedVersion)}`);
    }
    if (expectedEpoch !== undefined && (typeof expectedEpoch !== 'string' || !EPOCH.test(expectedEpoch))) {
      throw new RingError('INVALID_OPTION', `expectedEpoch must be an epoch id (1-64 letters, digits and dashes), got ${describe(expectedEpoch)}`);
    }
    const valid = this.#validate(nodes);
    return this.#bucket.run(async (kv) => {
      let entry = await getRing(kv);
      let last = entry?.revision ?? 0;
      if (live(entry) === null) {
        if (expectedVersion !== 0) return null;
        // No ring: expect the stream's last sequence, read BEFORE reading the key again, so that a ring written
        // in between is either seen by that read or makes the write fail.
        last = await this.#bucket.lastSequence();
        entry = await getRing(kv);
        if (live(entry) === null) return this.#write(last, { epoch: newEpoch(), version: 1, nodes: valid });
        last = entry!.revision;
      }
      let stored: RingState;
      try {
        stored = this.#parse(entry!);
      } catch (error) {
        throw new RingError('INVALID_SNAPSHOT', `compareAndSet refused to overwrite ${this.#where()}: it holds a value that is not a ring state (repair() replaces it)`, { cause: error });
      }
      if (stored.version !== expectedVersion || (expectedEpoch !== undefined && stored.epoch !== expectedEpoch)) return null;
      return this.#write(last, { epoch: stored.epoch, version: stored.version + 1, nodes: valid });
    });
  }

  /**
   * Replaces a value `read()` rejects with `nodes` as version 1 of a new
   * epoch, only over the very revision found unreadable. Resolves to `null`
   * when the key holds a valid state or nothing.
   */
  async repair(nodes: readonly RingNode[]): Promise<RingState | null> {
    this.#assertOpen('repair');
    const valid = this.#validate(nodes);
    return this.#bucket.run(async (kv) => {
      const entry = await getRing(kv);
      if (live(entry) === null) return null;
      try {
        this.#parse(entry!);
        return null; // valid: nothing to repair
      } catch {
        return this.#write(entry!.revision, { epoch: newEpoch(), version: 1, nodes: valid });
      }
    });
  }

  /**
   * Calls `listener` with the stored state when the watch starts (and again
   * after it had to be re-established) and with every state written after.
   * Values that fail validation, watch failures and listener exceptions go
   * to `onError`. The first watch starts a KV watch of the key; stopping the
   * last one stops it.
   */
  watch(listener: (state: RingState) => void, onError?: (error: Error) => void): () => void {
    this.#assertOpen('watch');
    const stop = this.#watchers.add(listener, onError, () => void this.#stopLoop());
    this.#loop ??= new KvWatchLoop({
      bucket: this.#bucket,
      key: RING_KEY,
      include: 'last',
      retryMs: 100,
      onEntry: (entry) => {
        if (entry.operation !== 'PUT') return;
        let state: RingState;
        try {
          state = this.#parse(entry);
        } catch (error) {
          this.#watchers.fail(error as Error);
          return;
        }
        this.#watchers.deliver(state);
      },
      onError: (error) => this.#watchers.fail(error),
    });
    return stop;
  }

  /** Stops every watch. The caller's connection stays open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    await this.#stopLoop();
  }

  async #stopLoop(): Promise<void> {
    const loop = this.#loop;
    this.#loop = null;
    await loop?.stop();
  }

  async #write(lastSequence: number, state: RingState): Promise<RingState | null> {
    const text = JSON.stringify({ epoch: state.epoch, version: state.version, nodes: state.nodes });
    try {
      // The bucket holds only the ring key, so "the stream's newest message is the one read" is the
      // compare-and-set (see KvBucket.putIfLast for why not the per-key expectation).
      await this.#bucket.putIfLast(RING_KEY, text, lastSequence);
    } catch (error) {
      if (wrongRevision(error)) return null; // someone wrote in between
      throw error;
    }
    return Object.freeze({ epoch: state.epoch, version: state.version, nodes: Object.freeze(state.nodes) });
  }

  #validate(nodes: readonly RingNode[]): RingNode[] {
    const valid = normalizeNodes(nodes);
    // The stored state adds `{"epoch":"...","version":N,"nodes":` and `}` around the list.
    const bytes = Buffer.byteLength(JSON.stringify(valid), 'utf8') + 120;
    if (bytes > this.#maxBytes) {
      throw new RingError('INVALID_OPTION', `the ring state would be about ${bytes} bytes; maxStateBytes is ${this.#maxBytes}`);
    }
    if (isClosed(this.#nc)) throw connectionClosed('NatsRingStore');
    const maxPayload = this.#nc.info?.max_payload;
    if (maxPayload !== undefined && bytes + HEADER_ALLOWANCE_BYTES > maxPayload) {
      throw new RingError(
        'INVALID_OPTION',
        `the ring state would be about ${bytes} bytes, over what one message to this NATS server can carry (max_payload ${maxPayload} bytes, less ${HEADER_ALLOWANCE_BYTES} for headers); nothing was written. Raise max_payload on the servers, or shrink the node meta`,
      );
    }
    return valid;
  }

  #parse(entry: KvEntry): RingState {
    return parseRingState(entry.value, this.#where(), this.#maxBytes);
  }

  #where(): string {
    return `${this.#names.ringBucket}/${RING_KEY}`;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new RingError('CLOSED', `NatsRingStore.${method}() called after close()`);
  }
}

/** The entry when it holds a value (not a delete or purge marker), else null. */
function live(entry: KvEntry | null): KvEntry | null {
  return entry !== null && entry.operation === 'PUT' ? entry : null;
}

/** A new epoch id: this process's clock in ms and 64 random bits. */
function newEpoch(): string {
  return `${Date.now()}-${randomBytes(8).toString('hex')}`;
}

/**
 * Reads the ring entry, once more if the first read timed out: on a JetStream
 * cluster a read can go unanswered while the stream's leadership moves, and a
 * read is safe to repeat (writes never are).
 */
async function getRing(kv: KV): Promise<KvEntry | null> {
  try {
    return await kv.get(RING_KEY);
  } catch (error) {
    if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
    return kv.get(RING_KEY);
  }
}
