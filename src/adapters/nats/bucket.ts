import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { RingError, describe } from '../../errors.js';

/** A message as a {@link NatsConnection} hands it to a subscription callback. */
export interface NatsMessage {
  readonly subject: string;
  /** Status headers: `code` 503 is the server's "no responders". */
  readonly headers?: { readonly code: number } | undefined;
  /** The payload as UTF-8 text. */
  string(): string;
}

/** A subscription made by {@link NatsConnection.subscribe}. */
export interface NatsSubscription {
  unsubscribe(): void;
  /** Settles when the subscription ends (unsubscribed, or its connection closed). */
  readonly closed: Promise<void | Error>;
}

/**
 * What the adapters use of a NATS connection. `connect()` from
 * `@nats-io/transport-node` (and `wsconnect()` from `@nats-io/nats-core`)
 * returns one; the adapters build their JetStream and KV clients on it and
 * never close it. Declared here, structurally, so that ringroute's types do
 * not depend on the NATS packages' own declarations.
 */
export interface NatsConnection {
  /** The server's INFO: `max_payload` bounds every message. */
  readonly info?: { readonly max_payload: number } | undefined;
  publish(subject: string, payload?: string | Uint8Array, options?: { reply?: string }): void;
  subscribe(subject: string, options?: { callback?: (error: Error | null, msg: NatsMessage) => void }): NatsSubscription;
  request(subject: string, payload?: string | Uint8Array, options?: { timeout: number }): Promise<unknown>;
  /** Resolves once the server answered a ping sent after everything queued before. */
  flush(): Promise<void>;
  isClosed(): boolean;
  /** Connection events (`disconnect`, `reconnect`, ...), until the connection closes. */
  status(): AsyncIterable<{ readonly type: string }>;
}

/** The connection as the NATS JetStream client types it (the same object). */
type ClientConnection = Parameters<typeof jetstreamManager>[0];

/** A JetStream manager on `nc`. */
export function managerFor(nc: NatsConnection, timeoutMs: number): Promise<JetStreamManager> {
  return jetstreamManager(nc as unknown as ClientConnection, { timeout: timeoutMs, checkAPI: false });
}

/** Longest wait for one JetStream API call by default, in ms. */
export const DEFAULT_NATS_TIMEOUT_MS = 2000;

/** Longest wait for one answer to a bucket's creation before asking again, in ms. */
const CREATE_ATTEMPT_TIMEOUT_MS = 1000;

/** Longest wait for one answer while polling a new stream for its leader, in ms. */
const LEADER_POLL_TIMEOUT_MS = 250;

/** How a {@link KvBucket} creates its bucket when it is missing. */
export interface BucketConfig {
  /** Max age of an entry (the member ttl), in ms; 0 for none. */
  readonly ttlMs: number;
  /** Values kept per key (the newest first); JetStream allows 1 to 64. */
  readonly history: number;
  /** Replicas of the bucket's stream (1, 3 or 5). */
  readonly replicas: number;
  /** Longest wait for one JetStream call, in ms. */
  readonly timeoutMs: number;
}

/** Throws `INVALID_OPTION` unless `nc` looks like a NATS connection. */
export function checkConnection(nc: unknown, owner: string): asserts nc is NatsConnection {
  const candidate = nc as Partial<Record<keyof NatsConnection, unknown>> | null;
  const needed = ['publish', 'subscribe', 'request', 'flush', 'isClosed', 'status'] as const;
  if (typeof nc !== 'object' || candidate === null || needed.some((name) => typeof candidate[name] !== 'function')) {
    throw new RingError('INVALID_OPTION', `${owner} needs options.nats to be a NATS connection (await connect() from @nats-io/transport-node), got ${describe(nc)}`);
  }
}

/** Throws `INVALID_OPTION` unless `replicas` is 1, 3 or 5. */
export function checkReplicas(replicas: unknown): asserts replicas is number {
  if (replicas !== 1 && replicas !== 3 && replicas !== 5) {
    throw new RingError('INVALID_OPTION', `replicas must be 1, 3 or 5, got ${describe(replicas)}`);
  }
}

/** Throws `INVALID_OPTION` unless `timeoutMs` is a positive finite number. */
export function checkTimeout(timeoutMs: unknown, name = 'timeoutMs'): asserts timeoutMs is number {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RingError('INVALID_OPTION', `${name} must be a positive number, got ${describe(timeoutMs)}`);
  }
}

/** The stream under a bucket is gone (deleted, or a server restarted with an empty store). */
function streamGone(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === 10059;
  // A write to a subject that no stream captures has no responders: the JetStream client calls that "not enabled"
  // (a class its public entry does not export).
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}

/** A write that expected another last revision of the key. */
export function wrongRevision(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10071 || error.code === 10164);
}

/** Whether `nc` was closed for good (`close()`, or the client gave up reconnecting). */
export function isClosed(nc: NatsConnection): boolean {
  return nc.isClosed();
}

/** The `CLOSED` error for a NATS connection closed under an adapter. */
export function connectionClosed(owner: string, cause?: unknown): RingError {
  return new RingError(
    'CLOSED',
    `${owner}: the NATS connection is closed (closed by its owner, or the client stopped reconnecting); this adapter cannot work on it again: open a new connection and a new adapter`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * One JetStream KV bucket, opened (and created when missing) on first use.
 * When the bucket's stream disappears under it (a server restarted with an
 * empty store, an operator deleted it), the next call creates it again and
 * retries once, so the adapters recover as the Redis ones do after an empty
 * restart. The bucket's settings (history, max age, replicas, no direct
 * gets) are applied only when this process creates it.
 */
export class KvBucket {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #config: BucketConfig;
  readonly #owner: string;
  #kv: Promise<KV> | null = null;

  constructor(nc: NatsConnection, name: string, config: BucketConfig, owner: string) {
    this.#nc = nc;
    this.name = name;
    this.#config = config;
    this.#owner = owner;
  }

  /** The connection the bucket is used through. */
  get connection(): NatsConnection {
    return this.#nc;
  }

  /** The JetStream API timeout. */
  get timeoutMs(): number {
    return this.#config.timeoutMs;
  }

  /** Runs `op` on the bucket; creates the bucket again and retries once if its stream is gone. */
  async run<T>(op: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await op(await this.#open());
    } catch (error) {
      if (isClosed(this.#nc)) throw connectionClosed(this.#owner, error);
      if (!streamGone(error)) throw error;
      this.#kv = null;
      try {
        return await op(await this.#open());
      } catch (again) {
        if (isClosed(this.#nc)) throw connectionClosed(this.#owner, again);
        throw again;
      }
    }
  }

  /**
   * The last sequence of the bucket's whole stream (the revision of the
   * newest message of any key, deleted or not); 0 for an empty stream.
   */
  async lastSequence(): Promise<number> {
    const jsm = await managerFor(this.#nc, this.#config.timeoutMs);
    return (await jsm.streams.info(`KV_${this.name}`)).state.last_seq;
  }

  /**
   * Writes `value` under `key` only if the newest message of the whole stream
   * is still `lastSequence` (`Nats-Expected-Last-Sequence`), and resolves to
   * the new revision. For a bucket that holds one key this is a
   * compare-and-set on that key, and, unlike the per-key expectation that
   * the KV client's `update` sends, one that nats-server 2.9 also enforces
   * between concurrent writers on a JetStream cluster: its leader checks it
   * against the proposals in flight, where two updates expecting the same key
   * revision were both accepted in our tests on a 3-server 2.9.10 cluster.
   */
  async putIfLast(key: string, value: string, lastSequence: number): Promise<number> {
    return this.run(async () => {
      const js = jetstream(this.#nc as unknown as ClientConnection, { timeout: this.#config.timeoutMs });
      const ack = await js.publish(`$KV.${this.name}.${key}`, value, { expect: { lastSequence }, timeout: this.#config.timeoutMs });
      return ack.seq;
    });
  }

  /**
   * On a JetStream cluster a new stream answers nothing until its replicas
   * elected a leader (a read sent before that times out): wait for one, at
   * most 10 x timeoutMs. A single server has no such wait.
   */
  async #leaderElected(): Promise<void> {
    // Asked before the election, the stream's info goes unanswered until the request times out (nats-server 2.9):
    // ask often with a short timeout rather than once per timeoutMs (a 5 s wait on every new bucket).
    const jsm = await managerFor(this.#nc, Math.min(this.#config.timeoutMs, LEADER_POLL_TIMEOUT_MS));
    const deadline = Date.now() + 10 * this.#config.timeoutMs;
    for (;;) {
      const info = await jsm.streams.info(`KV_${this.name}`).catch(() => null);
      if (info !== null && (info.cluster === undefined || (info.cluster.leader ?? '') !== '')) return;
      if (Date.now() > deadline) throw new Error(`bucket ${this.name}: its stream has no leader after ${10 * this.#config.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The opened bucket (creating it when missing). */
  open(): Promise<KV> {
    return this.#open();
  }

  #open(): Promise<KV> {
    if (isClosed(this.#nc)) return Promise.reject(connectionClosed(this.#owner));
    if (this.#kv === null) {
      const { ttlMs, history, replicas, timeoutMs } = this.#config;
      // On a cluster, asking about a stream that another client is creating at that moment can go unanswered
      // (nats-server 2.9) until the request times out: ask again with a short timeout until timeoutMs x 3 ran out.
      const attemptMs = Math.min(timeoutMs, CREATE_ATTEMPT_TIMEOUT_MS);
      const createJs = jetstream(this.#nc as unknown as ClientConnection, { timeout: attemptMs });
      const create = () =>
        new Kvm(createJs).create(this.name, {
          history,
          replicas,
          timeout: attemptMs,
          // Reads go to the stream leader: a direct get may be answered by a replica that lags behind.
          allow_direct: false,
          ...(ttlMs > 0 ? { ttl: ttlMs } : {}),
        });
      const opening = (async () => {
        const deadline = Date.now() + 3 * timeoutMs;
        for (;;) {
          try {
            await create();
            await this.#leaderElected();
            // The handle every later call uses waits the full timeoutMs, not the creation's short one.
            return await new Kvm(jetstream(this.#nc as unknown as ClientConnection, { timeout: timeoutMs, checkAPI: false })).open(this.name);
          } catch (error) {
            if (Date.now() >= deadline || !(error instanceof Error && error.name === 'TimeoutError') || isClosed(this.#nc)) throw error;
          }
        }
      })();
      this.#kv = opening;
      opening.catch(() => {
        if (this.#kv === opening) this.#kv = null;
      });
    }
    return this.#kv;
  }
}
