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

/** How long a failure waits for the link to say whether its server was lost. */
const LOST_GRACE_MS = 1000;

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
  // The Socket.IO baseline's servers all run in this process: one socket per user here, the other end in its users' process.
  if (options.baseline === 'socket.io') checkSockets(workload.users.length, Math.max(...placements.map((p) => p.sizes.max)), '--baseline socket.io', 1);
  const link = options.transport === 'memory' ? null : await PubSubLink.open(options.transport, options.transport === 'redis' ? options.redisUrl : options.natsUrl, context.worker);
  try {
    for (const [k, n] of options.nodes.entries()) {
      const { ring, sessions, sizes } = placements[k]!;
      const onProblem = (message: string): void => void problems.push(`${n} nodes: ${message}`);
      const problemsBefore = problems.length;
      /** What a round runs on: started by `open`, closed after the round when `fresh`, else at the end. */
      type Systems = { readonly all: Array<[string, BenchCluster]>; close(): Promise<void> };
      let current: Systems | undefined;
      try {
        const step = async (name: string, cluster: BenchCluster, messages: typeof workload.messages, label: string, timed = false): Promise<RunMeasure> => {
          const before = finished;
          const measured = await cluster.run(messages, (sent) => onProgress((before + sent) / total, `${n} nodes, ${name}${label}`), timed);
          finished = before + messages.length;
          return measured;
        };
        /**
         * Warm-up, then the rounds, alternating the order so no system always
         * runs first, and the timed rounds last. With `fresh`, every round
         * runs on systems started for it: nodes in one process share one heap,
         * and the outcomes they remember (up to `dedupeMax` each, for a minute)
         * would otherwise grow it round after round, n times what one node's
         * own process holds, and with it the garbage collector's work.
         */
        const measure = async (open: () => Promise<Systems>, fresh: boolean, timedRounds: number): Promise<Map<string, Figures>> => {
          const next = async (): Promise<Systems> => {
            if (current !== undefined && !fresh) return current;
            await current?.close();
            current = undefined;
            return (current = await open());
          };
          for (const [name, cluster] of (await next()).all) await step(name, cluster, warmup, ' (warm-up)');
          const runs = new Map<string, RunMeasure[]>();
          for (let r = 0; r < options.rounds; r++) {
            const { all } = await next();
            const order = r % 2 === 0 ? all : [...all].reverse();
            for (const [name, cluster] of order) {
              const measured = await step(name, cluster, workload.messages, options.rounds > 1 ? `, round ${r + 1}/${options.rounds}` : '');
              runs.set(name, [...(runs.get(name) ?? []), measured]);
            }
          }
          const timed = new Map<string, RunMeasure>();
          if (timedRounds === 1) for (const [name, cluster] of (await next()).all) timed.set(name, await step(name, cluster, workload.messages, ', timed', true));
          await current?.close();
          current = undefined;
          return new Map([...runs].map(([name, measured]) => {
            problems.push(...check(n, name, measured, workload));
            return [name, figures(measured, timed.get(name) ?? null)];
          }));
        };
        const ownSystems = async (): Promise<Systems> => {
          const c: ModeClusters = link === null ? await startMemoryCluster({ ring, sessions, sockets: options.sockets, onProblem }) : await startPubSubCluster({ link, ring, sessions, sockets: options.sockets, rate: options.rate, onProblem });
          return { all: [['broadcast', c.broadcast], ['hash', c.hash]], close: () => c.close() };
        };
        const own = await measure(ownSystems, link === null, timedRound);
        // One Socket.IO system at a time: each holds a socket per user in this process and in its users' process.
        let baselines: NodeCountResult['baselines'];
        if (options.baseline === 'socket.io') {
          baselines = {};
          for (const system of ['socket.io-redis-adapter', 'ringroute-socket.io'] as const) {
            const { startSocketIoCluster } = await import('./socketio.js');
            const open = async (): Promise<Systems> => {
              const cluster = await startSocketIoCluster({ system, nodes: n, users: workload.users, redisUrl: options.redisUrl, rate: options.rate, onProblem });
              return { all: [[system, cluster]], close: () => cluster.close() };
            };
            baselines[system] = (await measure(open, false, 0)).get(system)!;
          }
        }
        const broadcast = own.get('broadcast')!;
        const hash = own.get('hash')!;
        results.push({ nodes: n, sessionsPerNode: sizes, broadcast, hash, ratio: ratios(broadcast, hash), ...(baselines === undefined ? {} : { baselines }) });
      } catch (error) {
        // A server lost mid-run ends it as incomplete, whichever part noticed first (the Socket.IO baseline's own
        // clients may fail before the link hears of it: give the link a moment).
        if (!(error instanceof RunAborted) && link !== null && link.lost === undefined) await new Promise((resume) => setTimeout(resume, LOST_GRACE_MS));
        const reason = error instanceof RunAborted ? error.message : link?.lost;
        if (reason === undefined) throw error;
        incomplete = `${n} nodes: ${reason}`;
        // This node count has no result: what its parts reported as they lost the server (a sender's
        // "Connection is closed") are symptoms of that loss, which `incomplete` names, not delivery problems.
        problems.length = problemsBefore;
        break;
      } finally {
        await current?.close();
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
