/**
 * The routing benchmark: for each node count, places every user's session
 * on its owner node, then pushes the same messages through the chosen
 * transport in broadcast mode and in hash mode, checks that both delivered
 * exactly the expected (message, user) pairs, and turns the counters into
 * the report's figures.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { HashRing } from '../ring/hash-ring.js';
import type { BenchOptions } from './args.js';
import { MODES, type Mode } from './gateway.js';
import { medianIndex, quantile, ratio, round } from './stats.js';
import type { RunResult, Transport } from './transport.js';
import { generateWorkload, type Workload } from './workload.js';

/** Every figure of one mode at one node count. Per-message figures are over all messages. */
export interface ModeFigures {
  readonly messages: number;
  readonly directMessages: number;
  readonly groupMessages: number;
  /** Messages handed to a user's session. */
  readonly delivered: number;
  /** Order-independent checksum of the (message, user) pairs delivered. */
  readonly checksum: string;
  readonly nodeVisits: number;
  readonly nodeVisitsPerMessage: number;
  /** Null when there were no one-to-one messages. */
  readonly nodeVisitsPerDirectMessage: number | null;
  /** Null when there were no group messages. */
  readonly nodeVisitsPerGroupMessage: number | null;
  readonly wastedVisits: number;
  readonly wastedVisitsPerMessage: number;
  readonly sessionLookups: number;
  readonly sessionLookupsPerMessage: number;
  readonly ringLookups: number;
  readonly ringLookupsPerMessage: number;
  readonly bytesBetweenNodes: number;
  readonly bytesPerMessage: number;
  /** CPU of the reported round (the median of `cpuMicrosByRound`), user + system. */
  readonly cpuMicros: number;
  readonly cpuMicrosPerDelivered: number;
  readonly deliveredPerCpuSecond: number;
  /** Where the CPU went; parts are null when the transport cannot tell them apart. */
  readonly cpuBreakdownMicros: { readonly gateway: number | null; readonly nodes: number | null; readonly redis: number | null };
  /**
   * The same CPU by kind of work: `routing` (ring lookups and grouping by
   * owner at the gateway), `codec` (encoding envelopes, reading their headers
   * at the nodes), `delivery` (session lookups, handing bodies to sessions)
   * and `rest` (everything else: the transport, Redis, the event loop).
   */
  readonly cpuSplitMicros: { readonly routing: number; readonly codec: number; readonly delivery: number; readonly rest: number };
  readonly cpuMicrosByRound: readonly number[];
  readonly wallMs: number;
  /** Send-to-delivery latency; null on the memory transport. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
}

/** Broadcast's figure divided by hash's; null where hash's is 0 or absent. */
export interface Ratios {
  readonly nodeVisitsPerMessage: number | null;
  readonly wastedVisitsPerMessage: number | null;
  readonly sessionLookups: number | null;
  readonly bytesBetweenNodes: number | null;
  readonly cpuMicrosPerDelivered: number | null;
  readonly deliveredPerCpuSecond: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
}

/** Results at one node count. */
export interface NodeCountResult {
  readonly nodes: number;
  /** Fewest and most sessions on one node (the ring's balance for these users). */
  readonly sessionsPerNode: { readonly min: number; readonly max: number };
  readonly broadcast: ModeFigures;
  readonly hash: ModeFigures;
  readonly ratio: Ratios;
}

/**
 * The options as the report records them: `natsUrl` only with the nats
 * transport, so that memory and redis reports keep the shape they had
 * before NATS was added (and still match the schema of that time).
 */
export type ReportArgs = Omit<BenchOptions, 'natsUrl'> & { readonly natsUrl?: string };

/** The whole report, as written by `--json`. */
export interface BenchReport {
  readonly tool: 'ringroute bench';
  readonly date: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string; readonly platform: string; readonly arch: string; readonly memoryGiB: number };
  readonly args: ReportArgs;
  readonly workload: {
    readonly users: number;
    readonly messages: number;
    readonly directMessages: number;
    readonly groupMessages: number;
    readonly expectedDelivered: number;
    readonly expectedChecksum: string;
  };
  readonly results: readonly NodeCountResult[];
  /** True when every mode at every node count delivered exactly the expected pairs. */
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

/**
 * Unmeasured messages routed in each mode before measuring, so that both
 * modes, and every worker, run optimized code (unpaced on redis, so quick).
 */
function warmupCount(options: BenchOptions): number {
  return Math.min(options.messages, 5000);
}

/**
 * Runs the benchmark on `transport` (which the caller closes).
 * Never throws on a delivery mismatch: the report says `correct: false`.
 */
export async function runRoutingBench(options: BenchOptions, transport: Transport, onProgress: ProgressListener = () => {}): Promise<BenchReport> {
  const workload = generateWorkload(options);
  const warmup = workload.messages.slice(0, warmupCount(options));
  const perCount = 2 * warmup.length + 2 * options.rounds * workload.messages.length;
  const total = perCount * options.nodes.length;
  let finished = 0;

  const results: NodeCountResult[] = [];
  const problems: string[] = [];
  for (const n of options.nodes) {
    const ring = await HashRing.create(nodeIds(n).map((id) => ({ id })));
    const sessions = new Map<string, string[]>(nodeIds(n).map((id) => [id, []]));
    for (const user of workload.users) sessions.get(ring.lookup(user).id)!.push(user);
    const sizes = [...sessions.values()].map((s) => s.length);

    const cluster = await transport.start(ring, sessions);
    try {
      const step = async (mode: Mode, messages: Workload['messages'], label: string, warm = false): Promise<RunResult> => {
        const result = await cluster.run(mode, messages, (done) => onProgress((finished + done) / total, `${n} nodes, ${mode}${label}`), warm);
        finished += messages.length;
        return result;
      };
      for (const mode of MODES) await step(mode, warmup, ' (warm-up)', true);
      const runs: Record<Mode, RunResult[]> = { broadcast: [], hash: [] };
      for (let r = 0; r < options.rounds; r++) {
        // Alternate the order so neither mode always runs first.
        const order = r % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          runs[mode].push(await step(mode, workload.messages, options.rounds > 1 ? `, round ${r + 1}/${options.rounds}` : ''));
        }
      }
      const broadcast = figures(runs.broadcast);
      const hash = figures(runs.hash);
      problems.push(...check(n, 'broadcast', runs.broadcast, workload), ...check(n, 'hash', runs.hash, workload));
      if (broadcast.delivered !== hash.delivered || broadcast.checksum !== hash.checksum) {
        problems.push(
          `${n} nodes: broadcast delivered ${broadcast.delivered} (checksum ${broadcast.checksum}) but hash delivered ${hash.delivered} (checksum ${hash.checksum})`,
        );
      }
      results.push({ nodes: n, sessionsPerNode: { min: Math.min(...sizes), max: Math.max(...sizes) }, broadcast, hash, ratio: ratios(broadcast, hash) });
    } finally {
      await cluster.close();
    }
  }
  onProgress(1, 'done');

  return {
    tool: 'ringroute bench',
    date: new Date().toISOString(),
    machine: machine(),
    args: reportArgs(options),
    workload: {
      users: workload.users.length,
      messages: workload.messages.length,
      directMessages: workload.directMessages,
      groupMessages: workload.groupMessages,
      expectedDelivered: workload.expectedDelivered,
      expectedChecksum: workload.expectedChecksum,
    },
    results,
    correct: problems.length === 0,
    problems,
  };
}

/** The options without `natsUrl` unless the nats transport ran. */
function reportArgs(options: BenchOptions): ReportArgs {
  if (options.transport === 'nats') return options;
  const { natsUrl: _unused, ...args } = options;
  return args;
}

/** What the machine is, for the report. */
export function machine(): BenchReport['machine'] {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
  };
}

/** Every delivery expected, nothing else, in every round; and the nodes saw every visit the gateway sent. */
function check(n: number, mode: Mode, runs: readonly RunResult[], workload: Workload): string[] {
  const out: string[] = [];
  runs.forEach((run, r) => {
    const where = `${n} nodes, ${mode}${runs.length > 1 ? `, round ${r + 1}` : ''}`;
    if (run.nodes.delivered !== workload.expectedDelivered) {
      out.push(`${where}: delivered ${run.nodes.delivered} messages, expected ${workload.expectedDelivered}`);
    } else if (run.nodes.checksum !== workload.expectedChecksum) {
      out.push(`${where}: delivered the right number of messages but to the wrong users (checksum ${run.nodes.checksum}, expected ${workload.expectedChecksum})`);
    }
    if (run.nodes.visits !== run.gateway.nodeVisits) {
      out.push(`${where}: the gateway sent ${run.gateway.nodeVisits} node visits but the nodes received ${run.nodes.visits}`);
    }
  });
  return out;
}

/** The figures of the round with the median CPU time. */
function figures(runs: readonly RunResult[]): ModeFigures {
  const byRound = runs.map((r) => r.cpu.totalMicros);
  const run = runs[medianIndex(byRound)]!;
  const g = run.gateway;
  const nodes = run.nodes;
  const per = (x: number, of: number): number => (of === 0 ? 0 : round(x / of, 4));
  const cpuMicros = run.cpu.totalMicros;
  const lat = run.latenciesMs;
  const ms = (v: number | null): number | null => (v === null ? null : round(v, 3));
  return {
    messages: g.messages,
    directMessages: g.directMessages,
    groupMessages: g.groupMessages,
    delivered: nodes.delivered,
    checksum: nodes.checksum,
    nodeVisits: g.nodeVisits,
    nodeVisitsPerMessage: per(g.nodeVisits, g.messages),
    nodeVisitsPerDirectMessage: g.directMessages === 0 ? null : per(g.directVisits, g.directMessages),
    nodeVisitsPerGroupMessage: g.groupMessages === 0 ? null : per(g.groupVisits, g.groupMessages),
    wastedVisits: nodes.wastedVisits,
    wastedVisitsPerMessage: per(nodes.wastedVisits, g.messages),
    sessionLookups: nodes.sessionLookups,
    sessionLookupsPerMessage: per(nodes.sessionLookups, g.messages),
    ringLookups: g.ringLookups,
    ringLookupsPerMessage: per(g.ringLookups, g.messages),
    bytesBetweenNodes: g.bytesBetweenNodes,
    bytesPerMessage: per(g.bytesBetweenNodes, g.messages),
    cpuMicros,
    cpuMicrosPerDelivered: per(cpuMicros, nodes.delivered),
    deliveredPerCpuSecond: cpuMicros === 0 ? 0 : Math.round(nodes.delivered / (cpuMicros / 1e6)),
    cpuBreakdownMicros: { gateway: run.cpu.gatewayMicros, nodes: run.cpu.nodesMicros, redis: run.cpu.redisMicros },
    cpuSplitMicros: splitOf(run),
    cpuMicrosByRound: byRound,
    wallMs: round(run.wallMs, 1),
    latencyP50Ms: lat === null ? null : ms(quantile(lat, 0.5)),
    latencyP99Ms: lat === null ? null : ms(quantile(lat, 0.99)),
    latencyMaxMs: lat === null ? null : ms(quantile(lat, 1)),
  };
}

/** The CPU split of a run, with the rest of the total; clocks read apart can disagree by a few µs, so the rest never goes below 0. */
function splitOf(run: RunResult): ModeFigures['cpuSplitMicros'] {
  const { routingMicros, codecMicros, deliveryMicros } = run.split;
  const routing = Math.max(0, Math.round(routingMicros));
  const codec = Math.max(0, Math.round(codecMicros));
  const delivery = Math.max(0, Math.round(deliveryMicros));
  return { routing, codec, delivery, rest: Math.max(0, run.cpu.totalMicros - routing - codec - delivery) };
}

function ratios(b: ModeFigures, h: ModeFigures): Ratios {
  const r = (x: number | null, y: number | null): number | null => {
    const v = ratio(x, y);
    return v === null ? null : round(v, 3);
  };
  return {
    nodeVisitsPerMessage: r(b.nodeVisitsPerMessage, h.nodeVisitsPerMessage),
    wastedVisitsPerMessage: r(b.wastedVisitsPerMessage, h.wastedVisitsPerMessage),
    sessionLookups: r(b.sessionLookups, h.sessionLookups),
    bytesBetweenNodes: r(b.bytesBetweenNodes, h.bytesBetweenNodes),
    cpuMicrosPerDelivered: r(b.cpuMicrosPerDelivered, h.cpuMicrosPerDelivered),
    deliveredPerCpuSecond: r(b.deliveredPerCpuSecond, h.deliveredPerCpuSecond),
    latencyP50Ms: r(b.latencyP50Ms, h.latencyP50Ms),
    latencyP99Ms: r(b.latencyP99Ms, h.latencyP99Ms),
  };
}
