/**
 * The message load shared by the transport benchmarks (bench/sharded-pubsub.ts,
 * bench/engines.ts): node transports, each listening at its node address;
 * every message goes from a node to the owner of a user key on the ring
 * (hash routing), with at most `window` publishes in flight. Measures
 * messages per second, delivery latency (publish call to listener) and
 * whether every message arrived exactly once. Also the small arithmetic and
 * the `--name=value` flags of those scripts.
 */
import type { HashRing, Transport } from '../src/index.js';

/** `--name=value` flags of the command line (a bare `--name` is `''`). */
export function flags(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  return new Map(argv.map((a) => a.replace(/^--/, '').split('=') as [string, string]));
}

/** The value at quantile `q` (0..1) of an ascending array, by rank `floor(q * n)`; NaN for none. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Options of {@link hashRoutedLoad}. */
export interface LoadOptions {
  /** Transport i listens at `node:<id of the ring's node i>` and sends every i-th message. */
  readonly transports: readonly Transport[];
  /** The ring that names each message's owner; as many nodes as transports. */
  readonly ring: HashRing;
  readonly messages: number;
  /** Publishes in flight at most. */
  readonly window: number;
  /** Size of each message (ASCII, so bytes). */
  readonly bytes: number;
  /**
   * Before measuring, publish a probe from every transport to every address
   * until each reports a listener (a NATS cluster spreads a subscription to
   * the other servers a moment after `listen` resolved). Not with PUBLISH on a
   * Redis Cluster, which counts one shard's subscribers only. @default false
   */
  readonly probe?: boolean;
  /** Runs once every transport listens, before the clock starts (read server counters here). */
  readonly beforeSend?: () => Promise<void>;
  /** Longest wait for the last messages after the last publish resolved. @default 10000 */
  readonly timeoutMs?: number;
  /** Wait after the last message arrived, for duplicates. @default 0 */
  readonly lingerMs?: number;
}

export interface LoadResult {
  /** Messages received per second, from the first publish until the last message arrived (or the timeout). */
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly received: number;
  /** Messages that never arrived. */
  readonly missing: number;
  /** Arrivals beyond the first of a message. */
  readonly duplicates: number;
  /** Publishes that resolved 0 receivers although the owner listened. */
  readonly zero: number;
  /** Publishes that rejected. */
  readonly failed: number;
}

const PROBE = '#probe';

export async function hashRoutedLoad(options: LoadOptions): Promise<LoadResult> {
  const { transports, ring, messages, window, bytes } = options;
  const ids = ring.nodes().map((n) => n.id);
  if (ids.length !== transports.length) throw new Error(`${transports.length} transports for a ring of ${ids.length} nodes`);
  const latencies: number[] = [];
  const seen = new Uint8Array(messages);
  let received = 0;
  let duplicates = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const stops = await Promise.all(
    transports.map((t, i) =>
      t.listen(`node:${ids[i]}`, (message) => {
        if (message.startsWith(PROBE)) return;
        const bar = message.indexOf('|');
        const seq = Number(message.slice(0, bar));
        if (seen[seq] === 1) {
          duplicates++;
          return;
        }
        seen[seq] = 1;
        latencies.push(performance.now() - Number(message.slice(bar + 1, message.indexOf('|', bar + 1))));
        if (++received === messages) done();
      }),
    ),
  );
  try {
    if (options.probe === true) await probeAll(transports, ids, options.timeoutMs ?? 10_000);
    await options.beforeSend?.();
    const padding = 'x'.repeat(bytes);
    const owners = ring.lookupMany(Array.from({ length: messages }, (_, i) => `user-${(i * 7919) % 100_000}`)).map((n) => `node:${n.id}`);
    const started = performance.now();
    let next = 0;
    let zero = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < messages) {
        const i = next++;
        try {
          const head = `${i}|${performance.now()}|`;
          if ((await transports[i % transports.length]!.publish(owners[i]!, head + padding.slice(Math.min(bytes, head.length)))) === 0) zero++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs ?? 10_000)))]);
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    if ((options.lingerMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.lingerMs));
    latencies.sort((a, b) => a - b);
    return { rate: received / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), received, missing: messages - received, duplicates, zero, failed };
  } finally {
    await Promise.allSettled(stops.map((stop) => stop()));
  }
}

/** Every transport reaches every address (see {@link LoadOptions.probe}); throws after `timeoutMs`. */
async function probeAll(transports: readonly Transport[], ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const t of transports) {
    for (const id of ids) {
      while ((await t.publish(`node:${id}`, PROBE)) === 0) {
        if (performance.now() > deadline) throw new Error(`node:${id} still has no listener ${timeoutMs} ms after listen()`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
}
