/**
 * The slice of ioredis the redis transport uses, and its loader. ioredis is
 * an optional peer dependency: it is imported only when `--transport redis`
 * is asked for, never statically, so the memory transport runs without it.
 */
import { SetupError } from './setup-error.js';

/** The ioredis `Redis` methods the gateway and the workers call. */
export interface BenchRedis {
  connect(): Promise<void>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  /** Unsubscribes from every channel when called without arguments. */
  unsubscribe(...channels: string[]): Promise<unknown>;
  /** `INFO section`, as text. */
  info(section: string): Promise<string>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
  /** A new connection with this one's options, `override` applied. */
  duplicate(override?: Record<string, unknown>): unknown;
}

type RedisConstructor = new (url: string, options: Record<string, unknown>) => BenchRedis;

let loaded: Promise<RedisConstructor> | undefined;

/**
 * Loads ioredis.
 * @throws SetupError (exit code 2) when the package is not installed.
 */
export function loadRedis(): Promise<RedisConstructor> {
  loaded ??= (async () => {
    // A specifier in a variable: bundlers leave it alone and it stays optional.
    const name = 'ioredis';
    let mod: { Redis?: unknown; default?: unknown };
    try {
      mod = (await import(name)) as typeof mod;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new SetupError('--transport redis needs the ioredis package, which is not installed: run "npm install ioredis"');
      }
      throw error;
    }
    const ctor = mod.Redis ?? mod.default;
    if (typeof ctor !== 'function') throw new SetupError('the installed ioredis package has no Redis class; install ioredis 5 or later');
    return ctor as RedisConstructor;
  })();
  return loaded;
}

/**
 * Connects once, without retries: a benchmark should fail fast and say why
 * rather than wait for a server that is not there.
 * @throws SetupError (exit code 2) when the server does not answer.
 */
export async function connectRedis(url: string): Promise<BenchRedis> {
  const Redis = await loadRedis();
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {
    // Reported through the failing command or connect() below.
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new SetupError(`cannot connect to Redis at ${url}: ${(error as Error).message}`);
  }
  return client;
}

/**
 * `client` as `RedisTransport` takes it. The transport subscribes on
 * connections it duplicates from the client, which would inherit
 * {@link connectRedis}'s `lazyConnect` and `enableOfflineQueue: false` and
 * so refuse the SUBSCRIBE sent before they are connected: its duplicates
 * connect at once and queue that first command (still without retries).
 */
export function transportClient(client: BenchRedis): { publish: BenchRedis['publish']; duplicate: BenchRedis['duplicate'] } {
  return {
    publish: (channel, message) => client.publish(channel, message),
    duplicate: (override) => client.duplicate({ ...override, lazyConnect: false, enableOfflineQueue: true }),
  };
}

/**
 * redis-server's own cost so far, from `INFO`: CPU (user + system, µs) and
 * network bytes in and out; null when INFO is not allowed.
 */
export async function redisServerStats(client: BenchRedis): Promise<{ cpuMicros: number; netBytes: number } | null> {
  try {
    const info = await client.info('all');
    const field = (name: string): number | null => {
      const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
      return match === null ? null : Number(match[1]);
    };
    const user = field('used_cpu_user');
    const sys = field('used_cpu_sys');
    const input = field('total_net_input_bytes');
    const output = field('total_net_output_bytes');
    if (user === null || sys === null || input === null || output === null) return null;
    return { cpuMicros: Math.round((user + sys) * 1e6), netBytes: input + output };
  } catch {
    return null;
  }
}
