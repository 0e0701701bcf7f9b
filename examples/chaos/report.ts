/**
 * The chaos run's report: the schedule as it ran, a table per fault kind,
 * the message history's checks, double ownership, and the verdict.
 */
import { percentile } from '../cluster/report.js';
import { CONVERGE_BOUNDS_MS, type FaultResult } from './faults.js';
import type { ChaosReport } from './run.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

export interface KindRow {
  readonly kind: FaultKind;
  readonly count: number;
  readonly errors: number;
  readonly converged: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly boundMs: number;
  /** Faults that did not converge within the bound (or at all). */
  readonly overBound: number;
}

export function kindRows(faults: readonly FaultResult[]): KindRow[] {
  return FAULT_KINDS.map((kind) => {
    const of = faults.filter((f) => f.kind === kind);
    const times = of.map((f) => f.convergedMs).filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
    const boundMs = CONVERGE_BOUNDS_MS[kind];
    return {
      kind, count: of.length, errors: of.filter((f) => f.error !== undefined).length, converged: times.length,
      p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), maxMs: times.at(-1) ?? 0, boundMs,
      overBound: of.filter((f) => f.convergedMs === null || f.convergedMs > boundMs).length,
    };
  }).filter((row) => row.count > 0);
}

/** Why the run failed, one reason per broken check; empty when it passed. */
export function failures(report: ChaosReport, minPerKind = 0): string[] {
  const out: string[] = [];
  const m = report.messages;
  if (m.lost > 0) out.push(`${m.lost} messages lost (not received, sender told delivered or nothing)`);
  if (m.failedButReceived > 0) out.push(`${m.failedButReceived} told failed but received`);
  if (m.duplicates > 0) out.push(`${m.duplicates} shown twice`);
  if (m.misrouted > 0) out.push(`${m.misrouted} misrouted`);
  if (report.ownership.maxMs > report.settings.ttlMs) out.push(`double ownership of ${report.ownership.maxMs} ms, over the fencing bound (${report.settings.ttlMs} ms)`);
  for (const row of kindRows(report.faults)) {
    if (row.errors > 0) out.push(`${row.errors} ${row.kind} faults could not be carried out`);
    if (row.overBound > 0) out.push(`${row.overBound} ${row.kind} faults did not converge within ${row.boundMs} ms`);
    if (row.count < minPerKind) out.push(`only ${row.count} ${row.kind} faults (at least ${minPerKind} wanted)`);
  }
  if (report.finalConvergedMs === null) out.push('the cluster did not converge after the last fault');
  if (report.crashes.length > 0) out.push(`crashes: ${report.crashes.join('; ')}`);
  return out;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One line per fault, as it ran. */
export function formatSchedule(faults: readonly FaultResult[]): string[] {
  return faults.map((f) => {
    const what = f.peer !== undefined ? `${f.target} x ${f.peer}` : f.target;
    const late = f.startedAt - f.at > 100 ? ` (started ${s(f.startedAt)})` : '';
    const outcome = f.error !== undefined ? `ERROR ${f.error}` : f.convergedMs === null ? 'did not converge' : `converged ${f.convergedMs} ms`;
    const promoted = f.promotedMs !== undefined ? `, promoted ${f.promotedMs} ms` : '';
    const storeOut = f.storeOutMs !== undefined ? ` (+ ${f.storeOutMs} ms store out)` : '';
    return `${s(f.at).padStart(7)} ${f.kind.padEnd(14)} ${what.padEnd(14)} ${f.durationMs > 0 ? s(f.durationMs) : '-'}${late}: ${outcome}${storeOut}${promoted}`;
  });
}

export function formatReport(report: ChaosReport, minPerKind = 0): string {
  const lines: string[] = [];
  const st = report.settings;
  lines.push(`chaos run, seed ${report.seed}: ${s(report.durationMs)} of faults; ${st.gateways} gateways, ${st.nodes} app nodes, ${st.users} users, ${st.oneToOneRate} + ${st.groupRate} group messages/s; ttl ${st.ttlMs} ms`);
  lines.push('', 'schedule:', ...formatSchedule(report.faults));
  lines.push('', `faults: ${report.faults.length} of ${report.planned} planned`);
  lines.push('kind            count  converged   p50 ms   p99 ms   max ms   bound ms  over');
  for (const r of kindRows(report.faults)) {
    lines.push(`${r.kind.padEnd(14)} ${String(r.count).padStart(6)} ${String(r.converged).padStart(10)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)} ${String(r.maxMs).padStart(8)} ${String(r.boundMs).padStart(10)} ${String(r.overBound).padStart(5)}`);
  }
  const promotions = report.faults.map((f) => f.promotedMs).filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
  if (promotions.length > 0) {
    lines.push(`fail-overs: Sentinel named the new primary ${percentile(promotions, 0.5)} ms after the kill at the median, p99 ${percentile(promotions, 0.99)} ms, max ${promotions.at(-1)} ms (Sentinel's time; redis-failover converges from the promotion)`);
  }
  const outs = report.faults.filter((f) => f.storeOutMs !== undefined);
  if (outs.length > 0) lines.push(`store out while other faults converged (not counted in their times): ${outs.length} faults, ${outs.reduce((a, f) => a + f.storeOutMs!, 0)} ms in all`);
  const m = report.messages;
  lines.push('', `messages: ${m.messages} sent to ${m.sent} recipients: received ${m.delivered}, told failed ${m.failed}, unknown ${m.unknown} not received + ${m.unknownReceived} received, lost ${m.lost}`);
  lines.push(`  told delivered but not received ${m.falselyDelivered}, told failed but received ${m.failedButReceived}, shown twice ${m.duplicates}, misrouted ${m.misrouted}, skipped ${m.skipped}`);
  for (const v of report.violations) lines.push(`  ! ${v.user} ${v.id}: told ${v.told}${v.reason !== undefined ? ` (${v.reason})` : ''}, sent at ${s(v.sentAt)}, ${v.receivedAt !== undefined ? `received at ${s(v.receivedAt)}` : 'never received'}`);
  if (Object.keys(m.unknownReasons).length > 0) lines.push(`  unknown and not received, by reason: ${Object.entries(m.unknownReasons).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (Object.keys(m.failureReasons).length > 0) lines.push(`  failed by reason: ${Object.entries(m.failureReasons).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const w = report.ownership;
  lines.push('', `ownership: ${w.attaches} attaches; two owners for ${w.usersAffected} users, ${w.totalMs} ms in all, longest ${w.maxMs} ms (bound ${st.ttlMs} ms)`);
  for (const o of w.worst) lines.push(`  ${o.user}: ${Math.round(o.ms)} ms by ${o.owners.join(' and ')}`);
  lines.push(`node fences: ${report.fences} (sessions a fence closed: ${report.fencedCloses}); starts that failed and were tried again: ${report.failedStarts}`);
  lines.push(`after the last fault: converged ${report.finalConvergedMs === null ? 'not within 60 s' : `in ${report.finalConvergedMs} ms`}`);
  const broken = failures(report, minPerKind);
  lines.push('', broken.length === 0 ? 'verdict: ok' : `verdict: FAILED: ${broken.join('; ')}`);
  return lines.join('\n');
}
