/**
 * Figures of a run, from the load generator's ground truth: a recipient's
 * message is `delivered` when that user's client received it, `failed` when
 * the sender was told it failed (and it was not received), `unknown` when
 * the sender was told it may have been delivered (and it was not received),
 * and `lost` when none of these happened. A sender told `failed` for a
 * message that was received was lied to: `failedButReceived` must be 0.
 * Printed as a table, written as JSON.
 */
import { type AttackReport, BASELINE_MS, HEALTHZ_P99_LIMIT_MS } from './attacks.js';

export { HEALTHZ_P99_LIMIT_MS };
import type { ScaleFigures } from './scale.js';
import { type Mode, MODES, STRATEGIES, type Strategy, type TrafficKind } from './protocol.js';
import type { MessageRecord } from './traffic.js';

/** Outcomes of a set of messages, one per (message, recipient). */
export interface OutcomeFigures {
  /** Messages posted (a group message counts once). */
  readonly messages: number;
  /** Recipient deliveries asked for (one per message and recipient). */
  readonly sent: number;
  /** Received by the recipient's client (whatever the sender was told). */
  readonly delivered: number;
  /** Not received, and the sender was told it failed. */
  readonly failed: number;
  /** Not received, and the sender was told it may have been delivered (written or handed over, no acknowledgement). */
  readonly unknown: number;
  /** Not received and the sender told nothing or "delivered": must be 0. */
  readonly lost: number;
  /** Sender told "delivered" but the client never got it: must be 0 (counted in `lost`). */
  readonly falselyDelivered: number;
  /** Sender told "failed" but the client got it after all (counted as delivered): must be 0, the sender was misinformed. */
  readonly failedButReceived: number;
  /** Extra copies a client received and deduplicated by message id. */
  readonly duplicates: number;
}

export interface KindFigures extends OutcomeFigures {
  /** Node visits per message in this mode's steady window (all nodes up, no change running). */
  readonly nodeVisitsPerMessage: number;
  /** Distinct owners among a message's recipients, averaged over the same window. */
  readonly distinctOwnersPerMessage: number;
  /** Send to the recipient's client receiving it, over every message of the mode (changes included). */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** The same over the steady window only. */
  readonly steadyLatencyP50Ms: number;
  readonly steadyLatencyP99Ms: number;
}

export interface StrategyFigures {
  readonly fromNodes: number;
  readonly toNodes: number;
  /** Sessions the nodes closed because of the ring change. */
  readonly sessionsMoved: number;
  /** Sessions open when the new node joined. */
  readonly sessionsTotal: number;
  readonly share: number;
  /** What consistent hashing predicts for `selective`: 1 / toNodes. */
  readonly expectedShare: number;
  /** Sessions on the new node once everyone reconnected. */
  readonly sessionsOnNewNode: number;
  /** From the join to no close pending and every session back on a node. */
  readonly handoverMs: number;
  /** From the join to the last paced close (no close pending on any node). */
  readonly closesMs: number;
  /** The pace each node was given for these closes, at best. */
  readonly closesPerSecond: number;
  /** The lowest pace set while users were slow to come back (the closes slow down rather than queue users at the gates). */
  readonly slowestClosesPerSecond: number;
}

export interface FailoverFigures {
  readonly node: string;
  readonly usersAffected: number;
  /** Kill to every gateway's ring without the node (membership ttl + reaping + ring write). */
  readonly ringUpdatedMs: number;
  /** Kill to every affected user connected to its new owner. */
  readonly failoverMs: number;
}

export interface GatewayAgreement {
  readonly after: string;
  readonly gateways: Array<{ id: string; version: number; checksum: string; nodes: string[] }>;
  readonly agree: boolean;
}

export interface Report {
  readonly adapters: 'memory' | 'redis' | 'nats';
  readonly config: Record<string, unknown>;
  readonly durationMs: number;
  readonly modes: Record<Mode, Record<TrafficKind, KindFigures>>;
  readonly strategies: Record<Strategy, StrategyFigures>;
  readonly failover: FailoverFigures;
  readonly gateways: GatewayAgreement[];
  /** `skipped`: sends not made because too many were outstanding (never counted in `sent`). */
  readonly totals: { sent: number; delivered: number; failed: number; unknown: number; lost: number; failedButReceived: number; duplicates: number; misrouted: number; skipped: number };
  /** Why recipients failed, with counts. */
  readonly failureReasons: Record<string, number>;
  /** The attack phase (absent when it was not run). */
  readonly attacks?: AttackReport;
  /** The backend outage (absent when none was staged). */
  readonly outage?: OutageFigures;
  /** Connects, refusals and what each process cost. */
  readonly scale: ScaleFigures;
}

/** A staged outage of the shared backend (Redis) with hash traffic running. */
export interface OutageFigures {
  /** What was done, e.g. `Redis SIGSTOP`. */
  readonly label: string;
  readonly ms: number;
  /** Outcomes of the messages sent from the outage's start until the cluster settled after it. */
  readonly outcomes: OutcomeFigures;
  /** Sessions the nodes closed meanwhile (the ring must not change: 0). */
  readonly sessionsMoved: number;
  /** Times the nodes fenced themselves meanwhile (their leases ran out), and sessions those fences closed (must be 0). */
  readonly fences: number;
  readonly fencedCloses: number;
  /** From the backend's return to every gateway agreeing on the ring again. */
  readonly recoveredMs: number;
}

/** Every attack refused and the gateway responsive throughout (true when the phase did not run). */
export function attacksRepelled(report: Report): boolean {
  const a = report.attacks;
  return a === undefined || (a.results.every((r) => r.refused) && a.healthz.failures === 0 && a.healthz.p99Ms <= a.healthzLimitMs);
}

/** Steady-window figures measured on the nodes and gateways. */
export interface WindowFigures {
  readonly visits: Record<TrafficKind, number>;
  readonly messages: Record<TrafficKind, number>;
  readonly groupOwners: number;
}

/** Counts the outcomes of `records`; `received` sees each received copy's latency. */
export function countOutcomes(records: Iterable<MessageRecord>, received?: (record: MessageRecord, latencyMs: number) => void): OutcomeFigures {
  let messages = 0, sent = 0, delivered = 0, failed = 0, unknown = 0, lost = 0, falselyDelivered = 0, failedButReceived = 0, duplicates = 0;
  for (const record of records) {
    messages++;
    for (const r of record.recipients.values()) {
      sent++;
      duplicates += Math.max(0, r.copies - 1);
      if (r.receivedAt !== undefined) {
        delivered++;
        received?.(record, r.receivedAt - record.sentAt);
        if (r.told === 'failed') failedButReceived++;
      } else if (r.told === 'failed') {
        failed++;
      } else if (r.told === 'unknown') {
        unknown++;
      } else {
        lost++;
        if (r.told === 'delivered') falselyDelivered++;
      }
    }
  }
  return { messages, sent, delivered, failed, unknown, lost, falselyDelivered, failedButReceived, duplicates };
}

export function summarize(records: Iterable<MessageRecord>, mode: Mode, kind: TrafficKind, window: WindowFigures | undefined): KindFigures {
  const latencies: number[] = [];
  const steady: number[] = [];
  const counts = countOutcomes(
    [...records].filter((record) => record.mode === mode && record.kind === kind),
    (record, ms) => {
      latencies.push(ms);
      if (record.steady) steady.push(ms);
    },
  );
  latencies.sort((a, b) => a - b);
  steady.sort((a, b) => a - b);
  const perMessage = (n: number, d: number) => (d > 0 ? round(n / d, 3) : 0);
  return {
    ...counts,
    nodeVisitsPerMessage: window ? perMessage(window.visits[kind], window.messages[kind]) : 0,
    distinctOwnersPerMessage: window && kind === 'group' ? perMessage(window.groupOwners, window.messages.group) : kind === 'oneToOne' ? 1 : 0,
    latencyP50Ms: round(percentile(latencies, 0.5), 1),
    latencyP99Ms: round(percentile(latencies, 0.99), 1),
    steadyLatencyP50Ms: round(percentile(steady, 0.5), 1),
    steadyLatencyP99Ms: round(percentile(steady, 0.99), 1),
  };
}

export function failureReasons(records: Iterable<MessageRecord>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const record of records) {
    for (const r of record.recipients.values()) {
      if (r.receivedAt === undefined && r.told === 'failed') out[r.reason ?? 'unknown'] = (out[r.reason ?? 'unknown'] ?? 0) + 1;
    }
  }
  return out;
}

/** Nearest-rank percentile of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Widest line of the printed report: an 80-column terminal shows it without wrapping. */
export const MAX_WIDTH = 80;

const KIND_LABEL: Record<TrafficKind, string> = { oneToOne: '1:1', group: 'group' };

/** The human-readable report: tables and lines of at most {@link MAX_WIDTH} columns, then the verdict (at most 100). */
export function formatReport(report: Report): string {
  const lines: string[] = [];
  const c = report.config;
  lines.push(wrap(`ringroute cluster example: ${report.adapters} adapters, ${c.nodes} nodes + 1 joining, ${c.gateways} gateways, ${c.users} users, ${(report.durationMs / 1000).toFixed(1)} s`));
  lines.push('');
  const each = (row: (f: KindFigures) => Array<string | number>): string[][] =>
    MODES.flatMap((mode) => (['oneToOne', 'group'] as const).map((kind) => [mode, KIND_LABEL[kind], ...row(report.modes[mode][kind])].map(String)));
  lines.push(...table(['mode', 'traffic', 'messages', 'sent', 'delivered', 'failed', 'unknown', 'lost', 'dups'], each((f) => [f.messages, f.sent, f.delivered, f.failed, f.unknown, f.lost, f.duplicates])));
  lines.push('');
  lines.push(
    ...table(
      ['mode', 'traffic', 'visits', 'owners', 'p50 ms', 'p99 ms', 'steady p50', 'steady p99'],
      each((f) => [f.nodeVisitsPerMessage, f.distinctOwnersPerMessage, f.latencyP50Ms, f.latencyP99Ms, f.steadyLatencyP50Ms, f.steadyLatencyP99Ms]),
    ),
  );
  lines.push(wrap('visits: node visits per message, owners: distinct owners of its recipients, both over the steady window. Latency: send to receipt in ms, over the whole mode (joins, leaves and the kill included) and over the steady window.'));
  const t = report.totals;
  lines.push('');
  lines.push(wrap(`total: sent ${t.sent} = delivered ${t.delivered} + failed ${t.failed} + unknown ${t.unknown}; lost ${t.lost}; told failed but received ${t.failedButReceived}; duplicates deduplicated by clients ${t.duplicates}; misrouted ${t.misrouted}`, '  '));
  if (t.unknown > 0) lines.push(wrap('unknown: not received, and the sender was told it may have been (written or handed over, no acknowledgement in time).', '  '));
  if (t.skipped > 0) lines.push(`skipped ${t.skipped} sends: too many outstanding`);
  const reasons = Object.entries(report.failureReasons);
  if (reasons.length > 0) lines.push(wrap(`failed because: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}`, '  '));
  lines.push('');
  const srows = STRATEGIES.map((s) => {
    const f = report.strategies[s];
    return [s, `${f.fromNodes} -> ${f.toNodes}`, f.sessionsMoved, f.sessionsTotal, `${(f.share * 100).toFixed(1)}%`, `${(f.expectedShare * 100).toFixed(1)}%`, f.sessionsOnNewNode].map(String);
  });
  lines.push(...table(['node joins', 'nodes', 'sessions moved', 'of', 'share', '1/(N+1)', 'on new node'], srows));
  lines.push(wrap(`handover (ring change to every session back): ${STRATEGIES.map((s) => {
    const f = report.strategies[s];
    const closesRate = f.closesMs > 0 ? Math.round(f.sessionsMoved / (f.closesMs / 1000)) : 0;
    return `${s} ${(f.handoverMs / 1000).toFixed(1)} s (closes done after ${(f.closesMs / 1000).toFixed(1)} s, ${closesRate}/s; paced at ${f.slowestClosesPerSecond < f.closesPerSecond ? `${f.slowestClosesPerSecond} to ` : ''}${f.closesPerSecond}/s per node)`;
  }).join(', ')}`, '  '));
  const fo = report.failover;
  lines.push('');
  lines.push(wrap(`failover: ${fo.node} killed with ${fo.usersAffected} users; rings updated after ${fo.ringUpdatedMs} ms, all its users back after ${fo.failoverMs} ms`, '  '));
  lines.push('');
  lines.push("gateways' rings (version and checksum) after each change:");
  for (const a of report.gateways) {
    const each = a.gateways.map((g) => `${g.id} v${g.version} ${g.checksum}`).join(', ');
    lines.push(wrap(`  ${a.after}: ${each}: ${a.agree ? 'agree' : 'DISAGREE'}`, '    '));
  }
  if (report.attacks !== undefined) {
    const a = report.attacks;
    lines.push('');
    lines.push(`attack phase (${(a.durationMs / 1000).toFixed(1)} s, legitimate traffic running):`);
    for (const r of a.results) lines.push(wrap(`  ${r.refused ? 'refused' : 'NOT REFUSED'}  ${r.name}: ${r.tried}: ${r.answer}`, '      '));
    const h = a.healthz;
    lines.push(wrap(`  GET /healthz during the phase: ${h.samples} probes, ${h.failures} failed, p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms (limit ${a.healthzLimitMs}: ${HEALTHZ_P99_LIMIT_MS}, or twice the p99 of ${a.baseline.p99Ms} ms in the ${BASELINE_MS / 1000} s before the attacks), max ${h.maxMs} ms`, '      '));
    lines.push(wrap(`attacks: ${a.results.filter((r) => r.refused).length}/${a.results.length} refused, /healthz p99 ${h.p99Ms} ms: ${attacksRepelled(report) ? 'ok' : 'FAILED'}`, '  '));
  }
  if (report.outage !== undefined) {
    const o = report.outage;
    const f = o.outcomes;
    lines.push('');
    lines.push(wrap(`outage: ${o.label} for ${(o.ms / 1000).toFixed(1)} s with hash traffic running; ${f.messages} messages, ${f.sent} recipients: delivered ${f.delivered}, failed ${f.failed}, unknown ${f.unknown}, lost ${f.lost}, told failed but received ${f.failedButReceived}; sessions moved ${o.sessionsMoved}; node fences ${o.fences}, sessions they closed ${o.fencedCloses}; rings agreed ${o.recoveredMs} ms after it ended`, '  '));
  }
  lines.push('');
  lines.push(...formatScale(report.scale));
  lines.push('');
  lines.push(formatVerdict(report));
  return lines.join('\n');
}

/** Connects, refusals and the processes' costs, as lines of at most {@link MAX_WIDTH}. */
export function formatScale(scale: ScaleFigures): string[] {
  const lines: string[] = [];
  const c = scale.connect;
  lines.push(wrap(`connect: ${c.users} users in ${(c.ms / 1000).toFixed(1)} s (allowed ${(c.budgetMs / 1000).toFixed(0)} s), started at ${c.ratePerSecond}/s: ${c.perSecond} connected/s, peak ${c.peakPerSecond}/s; attempts per user ${c.attemptsPerUser} (${c.attempts}), over the whole run ${c.attemptsPerUserWholeRun}`, '  '));
  const kinds = (r: Record<string, number>) => (Object.keys(r).length === 0 ? 'none' : Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', '));
  const r = scale.refusals;
  lines.push(wrap(`refused: gateways ${kinds(r.gateways)}; nodes ${kinds(r.nodes)}; clients saw ${kinds(r.clients)}, and ${r.clientFailures} failed attempts`, '  '));
  const m = scale.memoryPerSession;
  const g = scale.gatewayCpuPer1000Connects;
  if (m !== null) lines.push(wrap(`memory per session: ${(m.bytes / 1024).toFixed(1)} KiB resident, ${(m.heapBytes / 1024).toFixed(1)} KiB heap (${m.sessions} sessions, ${m.where})`, '  '));
  if (g !== null) lines.push(wrap(`gateway CPU per 1,000 users connected: ${g.seconds} s (${g.where})`, '  '));
  lines.push('');
  const rows = scale.parts.map((p) => [p.part, p.pid, p.cpuSeconds.toFixed(1), p.rssMiB, p.peakRssMiB, p.peakDescriptors ?? '?'].map(String));
  const name = Math.max(4, MAX_WIDTH - 46);
  lines.push(...table(['process', 'pid', 'CPU s', 'RSS MiB', 'peak MiB', 'peak fds'], rows.map((row) => [row[0]!.length > name ? `${row[0]!.slice(0, name - 3)}...` : row[0]!, ...row.slice(1)])));
  return lines;
}

/**
 * The run in one line: node visits per message, hash against broadcast;
 * sessions moved by a join, selective against reconnect-all; and what was
 * lost. Starts with "verdict: ok" only when nothing was lost or misrouted,
 * no sender was told "failed" for a message its recipient received, every
 * gateway agreed, a staged outage moved no session (neither by a ring change nor by a fence), and every attack of
 * the attack phase was refused with `/healthz` within its p99 limit.
 */
export function formatVerdict(report: Report): string {
  const visits = (mode: Mode): number => {
    const kinds = Object.values(report.modes[mode]);
    const messages = kinds.reduce((sum, f) => sum + f.messages, 0);
    return messages === 0 ? 0 : kinds.reduce((sum, f) => sum + f.nodeVisitsPerMessage * f.messages, 0) / messages;
  };
  const moved = (s: Strategy): string => `${Math.round(report.strategies[s].share * 100)}%`;
  const t = report.totals;
  const ok = passed(report);
  return (
    `verdict: ${ok ? 'ok' : 'FAILED'}: visits/msg ${visits('hash').toFixed(1)} hash vs ${visits('broadcast').toFixed(1)} broadcast; ` +
    `moved ${moved('selective')} selective vs ${moved('reconnect-all')} reconnect-all; lost ${t.lost}`
  );
}

/** Whether the run passed: what {@link formatVerdict} calls "ok" (and `npm start` exits 0 for). */
export function passed(report: Report): boolean {
  const t = report.totals;
  return (
    t.lost === 0 && t.failedButReceived === 0 && t.misrouted === 0 && t.sent === t.delivered + t.failed + t.unknown &&
    report.gateways.every((g) => g.agree) && attacksRepelled(report) && (report.outage === undefined || (report.outage.sessionsMoved === 0 && report.outage.fencedCloses === 0))
  );
}

/** Wraps prose at spaces so that no line is wider than {@link MAX_WIDTH}; `indent` starts the continuation lines. */
function wrap(text: string, indent = ''): string {
  const out: string[] = [];
  const lead = /^ */.exec(text)![0];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    if (line.trim() !== '' && line.length + 1 + word.length > MAX_WIDTH) {
      out.push(line);
      line = indent + word;
    } else line = line.trim() === '' ? line + word : `${line} ${word}`;
  }
  out.push(line);
  return out.join('\n');
}

function table(head: readonly string[], rows: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
