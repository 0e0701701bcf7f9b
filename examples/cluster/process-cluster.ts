/**
 * The cluster as OS processes sharing one engine (engine.ts: Redis, a Redis
 * Cluster or NATS): each gateway and each app node is a child process
 * (process.ts run with tsx) with its own connection. Every run uses a fresh
 * prefix and deletes what it stored under it at the end (Redis keys, NATS
 * buckets).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type RingNode, RingRouter } from 'ringroute';
import { type ClusterHandle, type ClusterSettings, LiveNodes, firstPorts } from './cluster.js';
import type { Engine } from './engine.js';
import type { ProcessConfig, ProcessReport } from './process.js';
import type { Strategy } from './protocol.js';
import { redisEngine } from './redis-engine.js';

const ENTRY = fileURLToPath(new URL('./process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 20_000;
/** How long the scenario waits for the engine to answer before it starts any part. */
const ENGINE_WAIT_MS = 5000;

export interface ProcessClusterSettings extends ClusterSettings {
  readonly engine: Engine;
  /** Letters, digits and `-` (valid for every engine). @default a fresh `ringroute-example-<random>` */
  readonly prefix?: string;
}

/** {@link startProcessCluster} on `--redis URL[,URL...]`. */
export function startRedisCluster(settings: ClusterSettings & { readonly redisUrl: string; readonly prefix?: string }): Promise<ProcessCluster> {
  return startProcessCluster({ ...settings, engine: redisEngine(settings.redisUrl) });
}

export type ProcessCluster = ClusterHandle & { readonly prefix: string; readonly engine: Engine };

export async function startProcessCluster(settings: ProcessClusterSettings): Promise<ProcessCluster> {
  const { engine } = settings;
  const prefix = settings.prefix ?? `ringroute-example-${randomBytes(4).toString('hex')}`;
  // Not answering is said once, here, rather than by every part after its own wait.
  const connection = await engine.connect({ name: 'scenario', prefix, waitMs: ENGINE_WAIT_MS, ...(settings.log ? { log: settings.log } : {}) });
  const children = new Set<ChildProcess>();
  const spawnPart = (role: ProcessConfig['role'], id: string, strategy: Strategy) => {
    const ports = role === 'gateway' && id === 'gw-1' ? firstPorts(settings) : {};
    const config: ProcessConfig = {
      ...ports,
      role, id, prefix, strategy, mode: settings.mode,
      graceMs: settings.graceMs, ttlMs: settings.ttlMs, heartbeatMs: settings.heartbeatMs,
      ...(settings.insecure === true ? { insecure: true } : {}), ...(settings.limits ? { limits: settings.limits } : {}),
      ...(settings.closesPerSecond !== undefined ? { closesPerSecond: settings.closesPerSecond } : {}),
    };
    // Secrets go in the environment, never on the command line (readable by every local user in ps).
    const env = { ...process.env, RINGROUTE_SECRET: settings.secret, RINGROUTE_ADMIN_TOKEN: settings.adminToken, ...engine.env };
    const child = fork(ENTRY, [JSON.stringify(config)], { cwd: ROOT, env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.stderr?.on('data', (chunk: Buffer) => settings.log?.(chunk.toString().trimEnd()));
    return new Promise<{ child: ChildProcess; url: string; adminUrl: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('message', (message: ProcessReport) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve({ child, url: message.url, adminUrl: message.adminUrl ?? '' });
        else reject(new Error(`${id} failed to start: ${message.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited during start (${signal ?? code})`));
      });
    });
  };
  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopChild = async (child: ChildProcess, type: 'stop' | 'shutdown' = 'stop'): Promise<void> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    if (child.connected) child.send({ type });
    else child.kill('SIGTERM');
    await exited(child);
    clearTimeout(timer);
  };

  /** Asks a gateway process to drain (pending sends answered, WebSockets kept for the nodes' 4005); at most 10 s. */
  const drainChild = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (!child.connected) return resolve();
      const timer = setTimeout(resolve, 10_000);
      child.on('message', (message: { type?: string }) => {
        if (message.type === 'drained') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.send({ type: 'drain' });
    });
  const gateways: Array<{ child: ChildProcess; url: string; adminUrl: string }> = [];
  /** The scenario's own memberships and stores on the engine, closed with the cluster. */
  const opened: Array<{ close(): Promise<void> }> = [];
  const nodes = new LiveNodes<ChildProcess>();
  const handle = {
    kind: engine.kind,
    prefix,
    engine,
    gateways: [] as string[],
    admins: [] as string[],
    nodes: nodes.urls,
    nodeAdmins: nodes.adminUrls,
    async joinMember(node: RingNode) {
      const membership = connection.membership({ ttlMs: settings.ttlMs, heartbeatMs: settings.heartbeatMs });
      opened.push(membership);
      const member = await membership.join(node);
      return async () => {
        await member.leave();
        await membership.close();
      };
    },
    async router() {
      const store = connection.store();
      opened.push(store);
      return RingRouter.start({ store, resyncMs: 200 });
    },
    async startNode(id: string, strategy: Strategy) {
      const { child, url, adminUrl } = await spawnPart('node', id, strategy);
      nodes.add(id, child, url, adminUrl);
    },
    async stopNode(id: string) {
      await stopChild(nodes.take(id));
    },
    async killNode(id: string) {
      const child = nodes.take(id);
      child.kill('SIGKILL');
      await exited(child);
    },
    async shutdown() {
      await Promise.all(gateways.map((g) => drainChild(g.child)));
      await Promise.all([...nodes.parts.keys()].map((id) => stopChild(nodes.take(id), 'shutdown')));
      await handle.close();
    },
    async close() {
      await Promise.all([...nodes.parts.keys()].map((id) => handle.stopNode(id)));
      await Promise.all(gateways.map((g) => stopChild(g.child)));
      for (const child of children) child.kill('SIGKILL');
      for (const o of opened) await o.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await engine.clean(prefix);
    },
  };
  try {
    // Started together (tsx takes a second or two each); the array keeps gw-1, gw-2, ... in order.
    // Each gateway listens on a port of its own and the user processes spread the users over them
    // (client.ts gatewayOf): a shared port (SO_REUSEPORT, or a balancer in front) would spread
    // them too, but Node has no portable reusePort before 22, and a balancer would itself hold two
    // descriptors per proxied user, the very budget the gateways are multiplied for (capacity.ts).
    gateways.push(...(await Promise.all(Array.from({ length: settings.gateways }, (_, i) => spawnPart('gateway', `gw-${i + 1}`, settings.strategy)))));
    handle.gateways.push(...gateways.map((g) => g.url));
    handle.admins.push(...gateways.map((g) => g.adminUrl));
    await Promise.all(settings.nodes.map((id) => handle.startNode(id, settings.strategy)));
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    await connection.close().catch(() => undefined);
    await engine.clean(prefix).catch(() => undefined);
    throw error;
  }
  return handle;
}
