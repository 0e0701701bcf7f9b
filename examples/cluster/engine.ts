/**
 * The engine: what the example's processes share when each gateway and app
 * node is an OS process of its own (process-cluster.ts, process.ts). Redis
 * (one server, a Redis Cluster, or a Sentinel-managed primary) or NATS with
 * JetStream. An engine names how to connect (the part processes get it in
 * their environment, secrets included, never on a command line), connects,
 * builds the three adapters on that connection, and deletes what a run
 * stored under its prefix.
 */
import type { MembershipAdapter, RingStore, Transport } from 'ringroute';
import { natsEngine } from './nats-engine.js';
import { redisEngine, redisEngineFromEnv } from './redis-engine.js';

/** One process's connection to the engine, and the adapters on it (each closed by its user, then the connection). */
export interface EngineConnection {
  store(): RingStore & { close(): Promise<void> };
  membership(options: { readonly ttlMs: number; readonly heartbeatMs: number; readonly onError?: (error: Error) => void }): MembershipAdapter & { close(): Promise<void> };
  transport(): Transport;
  /** Closes the connection, after the adapters built on it. */
  close(): Promise<void>;
}

export interface Engine {
  readonly kind: 'redis' | 'nats';
  /** For progress lines and banners, passwords hidden: `Redis redis://127.0.0.1:6379`, `NATS nats://127.0.0.1:4222`. */
  readonly label: string;
  /** The environment a part process builds the same engine from ({@link engineFromEnv}). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Connects and resolves once the server answers; rejects, saying what the
   * last attempt got, when it has not answered within `waitMs`.
   * `name` labels the connection (and its log lines); the adapters work
   * under `prefix`.
   */
  connect(options: { readonly name: string; readonly prefix: string; readonly waitMs: number; readonly log?: (line: string) => void }): Promise<EngineConnection>;
  /** Deletes everything stored under `prefix` (Redis keys `{prefix}*`, NATS buckets `<prefix>-*`); resolves to how many. */
  clean(prefix: string): Promise<number>;
}

/** The engine of `--redis URL[,URL...]` or `--nats URL[,URL...]` (validated by the caller); null for neither (memory mode). */
export function engineFor(options: { readonly redis?: string | undefined; readonly nats?: string | undefined }): Engine | null {
  if (options.redis !== undefined && options.nats !== undefined) throw new Error('--redis and --nats exclude each other');
  if (options.nats !== undefined) return natsEngine(options.nats);
  if (options.redis !== undefined) return redisEngine(options.redis);
  return null;
}

/**
 * The engine a part process was started with: `RINGROUTE_NATS_URL`, else
 * Redis (`RINGROUTE_REDIS_URL`, or `RINGROUTE_SENTINELS`, see redis-engine.ts).
 */
export function engineFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): Engine {
  const nats = env.RINGROUTE_NATS_URL;
  return nats !== undefined && nats !== '' ? natsEngine(nats) : redisEngineFromEnv(env, log);
}
