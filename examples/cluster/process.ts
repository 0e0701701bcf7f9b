/**
 * Entry point of one OS process of the cluster: a gateway or an app node,
 * with its own connection to the engine (engine.ts) and its own ring store,
 * membership and transport on it. Started by process-cluster.ts (and
 * examples/chaos) with the settings as JSON in argv[2] and the secrets in
 * its environment (`RINGROUTE_SECRET`, `RINGROUTE_ADMIN_TOKEN`, and the
 * engine's: `RINGROUTE_NATS_URL`, or `RINGROUTE_REDIS_URL` (one URL, or a
 * Redis Cluster's URLs separated by commas), or `RINGROUTE_SENTINELS` and
 * its companions, see redis-engine.ts): never on a command line, which
 * other local users can read. Reports `{ type: 'ready', url, adminUrl }`
 * over IPC, stops gracefully on `{ type: 'stop' }` or SIGTERM, and exits if
 * its parent goes away.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { TracingTransport } from '../chaos/trace.js';
import { AppNode, type OwnershipEvent } from './app-node.js';
import { engineFromEnv } from './engine.js';
import { Gateway } from './gateway.js';
import type { GatewayLimits } from 'ringroute/gateway';
import type { Mode, Strategy } from './protocol.js';
import { startProcessSampler } from './process-stats.js';

export interface ProcessConfig {
  readonly role: 'gateway' | 'node';
  readonly id: string;
  readonly prefix: string;
  readonly strategy: Strategy;
  readonly mode: Mode;
  readonly graceMs: number;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly insecure?: boolean;
  readonly limits?: GatewayLimits;
  /** Nodes: pace of the "moved" closes. */
  readonly closesPerSecond?: number;
  /** Address the part listens on. @default '127.0.0.1' */
  readonly host?: string;
  readonly port?: number;
  readonly adminPort?: number;
  /**
   * Nodes: a file this node appends one line to for each attach, close,
   * fence and unfence (`<ms since the epoch> a|c|f|u [user]`), written
   * synchronously so a SIGKILL loses none (examples/chaos).
   */
  readonly ownershipLog?: string;
  /** A file to trace every transport message to (examples/chaos `--trace`). */
  readonly traceFile?: string;
  /** Stop without waiting for sessions to move (the whole cluster is shutting down). */
  readonly shutdown?: boolean;
}

export type ProcessReport = { type: 'ready'; url: string; adminUrl?: string } | { type: 'failed'; error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const report = (message: ProcessReport): void => void process.send?.(message);

async function main(): Promise<void> {
  startProcessSampler(); // peak descriptors from the start, not from the first /stats
  const engine = engineFromEnv(process.env, (line) => log(`[${config.id}] ${line}`));
  // A part that starts while its store fails over (Sentinel promoting a replica) waits for it, up to 20 s,
  // instead of failing its start and being started again from scratch by its supervisor.
  const connection = await engine.connect({ name: config.id, prefix: config.prefix, waitMs: 20_000, log });
  const onError = (error: Error): void => log(`[${config.id}] ${error.message}`);
  const store = connection.store();
  const membership = connection.membership({ ttlMs: config.ttlMs, heartbeatMs: config.heartbeatMs, onError });
  const engineTransport = connection.transport();
  // The chaos runner's --trace: every publication and every message heard, to follow one message's hops afterwards.
  const transport = config.traceFile !== undefined ? new TracingTransport(engineTransport, config.traceFile) : engineTransport;
  const adapters = { store, membership, transport, log };
  const auth = {
    adminToken: process.env.RINGROUTE_ADMIN_TOKEN ?? '',
    ...(config.insecure === true ? { insecure: true } : { secret: process.env.RINGROUTE_SECRET ?? '' }),
  };
  const address = {
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}), ...(config.adminPort !== undefined ? { adminPort: config.adminPort } : {}),
  };
  const part =
    config.role === 'node'
      ? await AppNode.start({
          id: config.id, ...adapters, ...auth, ...address, strategy: config.strategy,
          ...(config.closesPerSecond !== undefined ? { maxClosesPerSecond: config.closesPerSecond } : {}),
          ...(config.ownershipLog !== undefined ? { onOwnership: ownershipWriter(config.ownershipLog) } : {}),
        })
      : await Gateway.start({
          id: config.id, ...adapters, ...auth, ...address, ...(config.host !== undefined ? { adminHost: config.host } : {}),
          mode: config.mode, graceMs: config.graceMs, ...(config.limits ? { limits: config.limits } : {}),
        });

  let stopping: Promise<void> | undefined;
  const stop = (whole = false): Promise<void> =>
    (stopping ??= (async () => {
      await (part instanceof AppNode ? (whole ? part.shutdown() : part.stop()) : part.close()).catch(onError);
      await membership.close().catch(onError);
      await store.close().catch(onError);
      await connection.close().catch(onError);
      process.exit(0);
    })());
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') void stop();
    if (message.type === 'shutdown') void stop(true);
    if (message.type === 'drain' && part instanceof Gateway) void part.drain().then(() => process.send?.({ type: 'drained' }));
  });
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group: the parent orders the shutdown
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop()); // the parent died: never linger
  report({ type: 'ready', url: part.url, adminUrl: part.adminUrl });
}

/** Appends each ownership event to `file` at once (writeSync: a SIGKILL right after an attach still leaves its line). */
function ownershipWriter(file: string): (event: OwnershipEvent) => void {
  const fd = openSync(file, 'a');
  process.once('exit', () => closeSync(fd));
  const code = { attach: 'a', close: 'c', fence: 'f', unfence: 'u' } as const;
  return (event) => {
    const at = (performance.timeOrigin + performance.now()).toFixed(1);
    writeSync(fd, `${at} ${code[event.kind]}${'user' in event ? ` ${event.user}` : ''}\n`);
  };
}

main().catch((error: unknown) => {
  report({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
