/**
 * What a connection-storm run (bench/storm.ts) reports: one
 * {@link StormRow} per gateway, N and number of gateway processes, and the
 * markdown table the command prints.
 */
import type { GatewayKind } from './storm-run.js';
import type { ConnectCurve } from './storm-stats.js';

/** One run: one gateway, one N, one number of gateway processes. */
export interface StormRow {
  readonly gateway: GatewayKind;
  readonly n: number;
  /** Gateway processes (1 in the comparison; more: ringroute cluster workers, nginx workers, HAProxy processes). */
  readonly procs: number;
  readonly auth: 'insecure' | 'jwt' | 'none';
  /** Users connected at least once by the end of measuring. */
  readonly connected: number;
  /** Users connected at the end of the run (after `holdMs` when all connected). */
  readonly upAtEnd: number;
  /** Sessions on the nodes at the end of the run. */
  readonly nodeSessions: number;
  /** Sessions that closed after their welcome (and reconnected). */
  readonly dropped: number;
  /** The time bound was reached before every user connected. */
  readonly timedOut: boolean;
  /** From the first arrival to the end of measuring. */
  readonly measuredMs: number;
  readonly msTo: ConnectCurve['msTo'];
  readonly peakPerSecond: number;
  readonly binMs: number;
  readonly noCollapse: ConnectCurve['noCollapse'];
  /** The same with each user's real first attempt as its arrival (the users' processes start late on a busy machine). */
  readonly noCollapseStarted: ConnectCurve['noCollapse'];
  readonly connectsPerBin: readonly number[];
  /** How late the users' first attempts started after their arrival times (the load generator falling behind), ms. */
  readonly arrivalLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly attempts: { readonly total: number; readonly perUser: number; readonly p99: number; readonly max: number };
  /** Failed attempts by kind: `HTTP <status>`, a connect error code, `timeout` (no handshake in time), `close <code>` (closed before the welcome). */
  readonly refusals: Record<string, number>;
  /** CPU seconds of the gateway's processes (nginx's master and workers, every HAProxy process, ringroute's cluster primary and workers) from the first arrival to the end of measuring. */
  readonly gatewayCpuSeconds: number;
  /** The same, per process (ringroute: the cluster primary first; nginx: the master first). */
  readonly gatewayCpuByProcess: readonly number[];
  /** Gateway CPU milliseconds per 1,000 users connected. */
  readonly cpuMsPer1000: number | null;
  /** Peak open descriptors, sampled every 500 ms: of the fullest gateway process, and of all of them together. */
  readonly peakDescriptors: { readonly perProcess: number; readonly total: number };
  readonly nodesCpuSeconds: number;
  readonly usersCpuSeconds: number;
  /** 1-minute load average before and after the run. */
  readonly load: { readonly before: number; readonly after: number };
  /** ringroute: `GatewayHandler.stats()` summed over the workers. */
  readonly gatewayStats?: Record<string, unknown>;
  /** nginx/HAProxy: log lines by message (timestamps and connection numbers stripped), the 6 most frequent. */
  readonly proxyLog?: Record<string, number>;
}

export interface StormReport {
  readonly date: string;
  readonly machine: { readonly nproc: number; readonly cpu: string; readonly node: string; readonly descriptorLimit: number };
  readonly settings: Record<string, unknown>;
  readonly rows: StormRow[];
  /** Runs not made, and why. */
  readonly skipped: string[];
}


/** One markdown row per run. */
export function table(r: StormReport): string {
  const s = (ms: number | null): string => (ms === null ? '—' : (ms / 1000).toFixed(2));
  const lines = [
    `${r.date}, ${r.machine.cpu}, ${r.machine.nproc} cores, Node ${r.machine.node}, ${r.machine.descriptorLimit} descriptors per process`,
    '',
    '| gateway | N | procs | connected | 50% (s) | 90% (s) | 99% (s) | 100% (s) | peak /s | no collapse (arrived / started) | attempts/user (max) | failed attempts | gateway CPU (s) | CPU ms / 1k | peak fds (one proc / all) | up at end (dropped) | load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) lines.push(tableRow(row, s));
  if (r.skipped.length > 0) lines.push('', `Skipped: ${r.skipped.join('; ')}`);
  return lines.join('\n');
}

function tableRow(row: StormRow, s: (ms: number | null) => string): string {
  const refusals = Object.entries(row.refusals).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
  const ratio = (c: StormRow['noCollapse']): string => (c.minRatio === null ? 'no backlog' : c.minRatio.toFixed(2));
  const collapse = `${ratio(row.noCollapse)} / ${ratio(row.noCollapseStarted)}`;
  return `| ${row.gateway}${row.auth === 'jwt' ? ' (JWT)' : ''} | ${row.n} | ${row.procs} | ${row.connected}${row.timedOut ? ' (bound)' : ''} | ${s(row.msTo.p50)} | ${s(row.msTo.p90)} | ${s(row.msTo.p99)} | ${s(row.msTo.p100)} | ${row.peakPerSecond} | ${collapse} | ${row.attempts.perUser} (${row.attempts.max}) | ${refusals} | ${row.gatewayCpuSeconds} | ${row.cpuMsPer1000 ?? '—'} | ${row.peakDescriptors.perProcess} / ${row.peakDescriptors.total} | ${row.upAtEnd} (${row.dropped}) | ${row.load.before}→${row.load.after} |`;
}
