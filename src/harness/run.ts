/**
 * The routing benchmark's run: for each node count, places every user's session
 * on its owner node, then sends the same messages through the library's
 * own parts (a `Dispatcher` in broadcast mode and one in hash mode, over
 * the same `SessionNode`s and transport; see src/harness), checks that every
 * system delivered exactly the expected (message, user) pairs once each,
 * and turns the counts into the report's figures.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { startMemoryCluster, type ModeClusters } from './memory-cluster.js';
import { PubSubLink, RunAborted, startPubSubCluster } from './pubsub-cluster.js';
import { checkSockets } from './ws-sockets.js';
import type { BenchCluster, BenchMessage, RunMeasure, SystemName } from './types.js';
import type { WorkerCommand } from './worker-pool.js';
import { HashRing } from '../ring/hash-ring.js';
import { type Figures, figures, ratios, type Ratios } from './figures.js';

/** What a run needs to know (the command line's options, without its own). */
export interface RunOptions {
  /** Cluster sizes to measure, ascending. */
  readonly nodes: readonly number[];
  readonly transport: 'memory' | 'redis' | 'nats';
  readonly sockets: 'memory' | 'ws';
  readonly baseline: 'socket.io' | null;
  readonly redisUrl: string;
  readonly natsUrl: string;
  /** Messages per second the sender offers on redis and nats; 0 = as fast as the window allows. */
  readonly rate: number;
  /** Measured rounds of each system; the median CPU is reported. */
  readonly rounds: number;
}

/** The traffic of a run and what a correct run delivers. */
export interface RunWorkload {
  readonly users: readonly string[];
  readonly messages: readonly BenchMessage[];
  readonly expectedDelivered: number;
  readonly expectedChecksum: string;
}

/** Results at one node count. */
export interface NodeCountResult {
  readonly nodes: number;
  /** Fewest and most sessions on one node (the ring's balance for these users). */
  readonly sessionsPerNode: { readonly min: number; readonly max: number };
  readonly broadcast: Figures;
  readonly hash: Figures;
  /** Broadcast's figure divided by hash's. */
  readonly ratio: Ratios;
  /** With `--baseline socket.io`: the Socket.IO systems on the same users and messages. */
  readonly baselines?: Partial<Record<Exclude<SystemName, 'broadcast' | 'hash'>, Figures>>;
}

/** What a run found. */
export interface BenchRun {
  readonly results: readonly NodeCountResult[];
  /** False when the run ended early (a lost server, a failed worker): `results` holds the node counts finished. */
  readonly complete: boolean;
  /** Why the run ended early, when it did. */
  readonly incomplete: string | null;
  /** True when every system at every node count delivered exactly the expected pairs, once each. */
  readonly correct: boolean;
  /** What went wrong when `correct` is false. */
  readonly problems: readonly string[];
}

/** Progress of the whole run, for the progress bar. */
export type ProgressListener = (fraction: number, label: string) => void;

/** Node ids of a cluster of `n` nodes. */
export function nodeIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${i + 1}`);
}

/** How the pub/sub transports start their node processes. */
export interface RunContext {
  readonly worker: WorkerCommand;
}

/**
 * Runs the benchmark. Never throws on a delivery mismatch (the report says
 * `correct: false`), nor when a server goes away mid-run (`complete: false`).
 */
export async function runBench(options: RunOptions, workload: RunWorkload, context: RunContext, onProgress: ProgressListener = () => {}): Promise<BenchRun> {
  const warmup = workload.messages.slice(0, options.transport === 'memory' ? 5000 : 500);
  const timedRound = options.transport === 'memory' ? 1 : 0;
  const systems = 2 + (options.baseline === 'socket.io' ? 2 : 0);
  const perCount = systems * (warmup.length + (options.rounds + timedRound) * workload.messages.length);
  const total = perCount * options.nodes.length;
  let finished = 0;

  const results: NodeCountResult[] = [];
  const problems: string[] = [];
  let incomplete: string | null = null;
  // Every placement first: a size --sockets ws cannot open is refused before anything starts.
  const placements = await Promise.all(options.nodes.map((n) => placement(n, workload.users)));
  if (options.sockets === 'ws') {
    const perNode = Math.max(...placements.map((p) => p.sizes.max));
    checkSockets(options.transport === 'memory' ? workload.users.length : perNode, perNode);
  }
  const link = options.transport === 'memory' ? null : await PubSubLink.open(options.transport, options.transport === 'redis' ? options.redisUrl : options.natsUrl, context.worker);
  try {
    for (const [k, n] of options.nodes.entries()) {
      const { ring, sessions, sizes } = placements[k]!;
      const onProblem = (message: string): void => void problems.push(`${n} nodes: ${message}`);
      let clusters: ModeClusters | undefined;
      let baselines: Baselines | undefined;
      try {
        clusters = link === null ? await startMemoryCluster({ ring, sessions, sockets: options.sockets, onProblem }) : await startPubSubCluster({ link, ring, sessions, sockets: options.sockets, rate: options.rate, onProblem });
        baselines = options.baseline === 'socket.io' ? await startBaselines(n, workload.users, options.redisUrl, onProblem) : undefined;
        const all: Array<[string, BenchCluster]> = [['broadcast', clusters.broadcast], ['hash', clusters.hash], ...(baselines?.clusters ?? [])];
        const step = async (name: string, cluster: BenchCluster, messages: typeof workload.messages, label: string, timed = false): Promise<RunMeasure> => {
          const before = finished;
          const measured = await cluster.run(messages, (sent) => onProgress((before + sent) / total, `${n} nodes, ${name}${label}`), timed);
          finished = before + messages.length;
          return measured;
        };
        for (const [name, cluster] of all) await step(name, cluster, warmup, ' (warm-up)');
        const runs = new Map<string, RunMeasure[]>(all.map(([name]) => [name, []]));
        for (let r = 0; r < options.rounds; r++) {
          // Alternate the order so no system always runs first.
          const order = r % 2 === 0 ? all : [...all].reverse();
          for (const [name, cluster] of order) runs.get(name)!.push(await step(name, cluster, workload.messages, options.rounds > 1 ? `, round ${r + 1}/${options.rounds}` : ''));
        }
        const timed = new Map<string, RunMeasure>();
        if (timedRound === 1) for (const [name, cluster] of all.slice(0, 2)) timed.set(name, await step(name, cluster, workload.messages, ', timed', true));
        const figuresOf = (name: string): Figures => {
          problems.push(...check(n, name, runs.get(name)!, workload));
          return figures(runs.get(name)!, timed.get(name) ?? null);
        };
        const broadcast = figuresOf('broadcast');
        const hash = figuresOf('hash');
        const extra = baselines === undefined ? undefined : Object.fromEntries(baselines.clusters.map(([name]) => [name, figuresOf(name)]));
        results.push({ nodes: n, sessionsPerNode: sizes, broadcast, hash, ratio: ratios(broadcast, hash), ...(extra === undefined ? {} : { baselines: extra }) });
      } catch (error) {
        if (!(error instanceof RunAborted)) throw error;
        incomplete = `${n} nodes: ${error.message}`;
        break;
      } finally {
        await clusters?.close();
        await baselines?.close();
      }
    }
  } finally {
    await link?.close();
  }
  onProgress(1, 'done');
  return { results, complete: incomplete === null, incomplete, correct: problems.length === 0 && incomplete === null, problems };
}

/** The ring of `n` nodes and each user's session on its owner. */
async function placement(n: number, users: readonly string[]) {
  const ring = await HashRing.create(nodeIds(n).map((id) => ({ id })));
  const sessions = new Map<string, string[]>(nodeIds(n).map((id) => [id, []]));
  for (const user of users) sessions.get(ring.lookup(user).id)!.push(user);
  const counts = [...sessions.values()].map((s) => s.length);
  return { ring, sessions, sizes: { min: Math.min(...counts), max: Math.max(...counts) } };
}

/** What the machine is, for the report. */
export function machine(): { readonly cpu: string; readonly cores: number; readonly node: string; readonly platform: string; readonly arch: string; readonly memoryGiB: number } {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Every expected pair once, nothing else, every outcome `delivered`, in every round. */
function check(n: number, name: string, runs: readonly RunMeasure[], workload: { expectedDelivered: number; expectedChecksum: string }): string[] {
  const out: string[] = [];
  runs.forEach((run, r) => {
    const where = `${n} nodes, ${name}${runs.length > 1 ? `, round ${r + 1}` : ''}`;
    if (run.delivered !== workload.expectedDelivered) out.push(`${where}: delivered ${run.delivered} (message, user) pairs, expected ${workload.expectedDelivered}`);
    else if (run.checksum !== workload.expectedChecksum) out.push(`${where}: delivered the right number of pairs but to the wrong users (checksum ${run.checksum}, expected ${workload.expectedChecksum})`);
    if (run.duplicates > 0) out.push(`${where}: ${run.duplicates} pairs reached their user more than once`);
    if (run.notDelivered > 0) out.push(`${where}: ${run.notDelivered} recipients ended without a "delivered" outcome`);
  });
  return out;
}

/** The Socket.IO systems of `--baseline socket.io`, on the same users and Redis. */
interface Baselines {
  readonly clusters: Array<[Exclude<SystemName, 'broadcast' | 'hash'>, BenchCluster]>;
  close(): Promise<void>;
}

async function startBaselines(n: number, users: readonly string[], redisUrl: string, onProblem: (message: string) => void): Promise<Baselines> {
  const { startSocketIoCluster } = await import('../harness/socketio.js');
  const clusters: Baselines['clusters'] = [];
  const close = async (): Promise<void> => {
    for (const [, cluster] of clusters) await cluster.close();
  };
  try {
    for (const system of ['socket.io-redis-adapter', 'ringroute-socket.io'] as const) clusters.push([system, await startSocketIoCluster({ system, nodes: n, users, redisUrl, onProblem })]);
  } catch (error) {
    await close();
    throw error;
  }
  return { clusters, close };
}
