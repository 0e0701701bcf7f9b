/**
 * A system's measured rounds at one node count turned into the figures the
 * report prints and saves: the round with the median CPU, per message and
 * per delivery, and broadcast / hash ratios.
 */
import type { CpuSplit, RunMeasure } from './types.js';
import { medianIndex, quantile, ratio, round } from './stats.js';

/** Every figure of one system at one node count. Per-message figures are over all messages. */
export interface Figures {
  readonly messages: number;
  readonly directMessages: number;
  readonly groupMessages: number;
  /** Distinct (message, user) pairs that reached the user's client, and pairs that reached it again. */
  readonly delivered: number;
  readonly duplicates: number;
  /** Recipients whose outcome at the sender was not `delivered`. */
  readonly notDelivered: number;
  /** Order-independent checksum of the delivered pairs. */
  readonly checksum: string;
  readonly nodeVisits: number;
  readonly nodeVisitsPerMessage: number;
  /** Null when there were no such messages. */
  readonly nodeVisitsPerDirectMessage: number | null;
  readonly nodeVisitsPerGroupMessage: number | null;
  readonly wastedVisits: number;
  readonly wastedVisitsPerMessage: number;
  /** Messages heard on the bus (deliveries, outcomes, acks; a message heard by k nodes counts k times), and their bytes. */
  readonly busMessages: number;
  readonly busMessagesPerMessage: number;
  readonly busBytes: number;
  readonly busBytesPerMessage: number;
  /** CPU of the reported round (the median of `cpuMicrosByRound`), user + system, servers included where measured. */
  readonly cpuMicros: number;
  readonly cpuMicrosPerDelivered: number;
  readonly deliveredPerCpuSecond: number;
  /** The same CPU by process; null where not separable. */
  readonly cpuBreakdownMicros: { readonly sender: number | null; readonly nodes: number | null; readonly server: number | null };
  /** From the timed round (memory transport): CPU per delivered pair by kind of work; null otherwise. */
  readonly cpuSplitMicrosPerDelivered: CpuSplit | null;
  /** The Redis server's own CPU and network bytes per message; null without Redis. */
  readonly server: { readonly cpuMicrosPerMessage: number; readonly netBytesPerMessage: number } | null;
  readonly cpuMicrosByRound: readonly number[];
  readonly wallMs: number;
  /** Send to the last recipient's acknowledgement, per message. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
}

/** Broadcast's figure divided by hash's; null where hash's is 0 or absent. */
export interface Ratios {
  readonly nodeVisitsPerMessage: number | null;
  readonly wastedVisitsPerMessage: number | null;
  readonly busBytesPerMessage: number | null;
  readonly cpuMicrosPerDelivered: number | null;
  readonly deliveredPerCpuSecond: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
}

/** The figures of the round with the median CPU; the split from `timed` when there is one. */
export function figures(runs: readonly RunMeasure[], timed: RunMeasure | null): Figures {
  const byRound = runs.map((r) => r.cpu.totalMicros);
  const run = runs[medianIndex(byRound)]!;
  const per = (x: number, of: number): number => (of === 0 ? 0 : round(x / of, 4));
  const ms = (v: number | null): number | null => (v === null ? null : round(v, 3));
  const cpu = run.cpu.totalMicros;
  const split = timed?.split ?? null;
  const perDelivered = (v: number): number => per(v, timed?.delivered ?? 0);
  return {
    messages: run.messages,
    directMessages: run.directMessages,
    groupMessages: run.groupMessages,
    delivered: run.delivered,
    duplicates: run.duplicates,
    notDelivered: run.notDelivered,
    checksum: run.checksum,
    nodeVisits: run.nodeVisits,
    nodeVisitsPerMessage: per(run.nodeVisits, run.messages),
    nodeVisitsPerDirectMessage: run.directMessages === 0 ? null : per(run.directVisits, run.directMessages),
    nodeVisitsPerGroupMessage: run.groupMessages === 0 ? null : per(run.groupVisits, run.groupMessages),
    wastedVisits: run.wastedVisits,
    wastedVisitsPerMessage: per(run.wastedVisits, run.messages),
    busMessages: run.busMessages,
    busMessagesPerMessage: per(run.busMessages, run.messages),
    busBytes: run.busBytes,
    busBytesPerMessage: per(run.busBytes, run.messages),
    cpuMicros: cpu,
    cpuMicrosPerDelivered: per(cpu, run.delivered),
    deliveredPerCpuSecond: cpu === 0 ? 0 : Math.round(run.delivered / (cpu / 1e6)),
    cpuBreakdownMicros: { sender: run.cpu.senderMicros, nodes: run.cpu.nodesMicros, server: run.cpu.serverMicros },
    cpuSplitMicrosPerDelivered:
      split === null
        ? null
        : { routing: perDelivered(split.routing), codec: perDelivered(split.codec), sender: perDelivered(split.sender), delivery: perDelivered(split.delivery), transport: perDelivered(split.transport), clients: perDelivered(split.clients), rest: perDelivered(split.rest) },
    server: run.server === null ? null : { cpuMicrosPerMessage: per(run.server.cpuMicros, run.messages), netBytesPerMessage: per(run.server.netBytes, run.messages) },
    cpuMicrosByRound: byRound,
    wallMs: round(run.wallMs, 1),
    latencyP50Ms: ms(quantile(run.latenciesMs, 0.5)),
    latencyP99Ms: ms(quantile(run.latenciesMs, 0.99)),
    latencyMaxMs: ms(quantile(run.latenciesMs, 1)),
  };
}

export function ratios(b: Figures, h: Figures): Ratios {
  const r = (x: number | null, y: number | null): number | null => {
    const v = ratio(x, y);
    return v === null ? null : round(v, 3);
  };
  return {
    nodeVisitsPerMessage: r(b.nodeVisitsPerMessage, h.nodeVisitsPerMessage),
    wastedVisitsPerMessage: r(b.wastedVisitsPerMessage, h.wastedVisitsPerMessage),
    busBytesPerMessage: r(b.busBytesPerMessage, h.busBytesPerMessage),
    cpuMicrosPerDelivered: r(b.cpuMicrosPerDelivered, h.cpuMicrosPerDelivered),
    deliveredPerCpuSecond: r(b.deliveredPerCpuSecond, h.deliveredPerCpuSecond),
    latencyP50Ms: r(b.latencyP50Ms, h.latencyP50Ms),
    latencyP99Ms: r(b.latencyP99Ms, h.latencyP99Ms),
  };
}
