/**
 * The report as people read it: a row per node count, both modes (and the
 * Socket.IO baselines) side by side with their ratio, what ran and whether
 * every pair arrived once; all of it fits an 80-column terminal.
 */
import type { NodeCountResult } from '../harness/run.js';
import type { BenchReport } from './bench.js';
import type { Figures } from '../harness/figures.js';

interface Column {
  /** Group header, spanning consecutive columns with the same group. */
  readonly group: string;
  readonly header: string;
  readonly cell: (r: NodeCountResult) => string;
}

/** Both modes and, when `withRatio`, broadcast / hash. */
function pair(group: string, value: (f: Figures) => number | null, format: (v: number) => string, withRatio: boolean): Column[] {
  const cell = (f: Figures): string => {
    const v = value(f);
    return v === null ? '-' : format(v);
  };
  const columns: Column[] = [
    { group, header: 'bcast', cell: (r) => cell(r.broadcast) },
    { group, header: 'hash', cell: (r) => cell(r.hash) },
  ];
  if (withRatio) {
    columns.push({
      group,
      header: 'ratio',
      cell: (r) => {
        const b = value(r.broadcast);
        const h = value(r.hash);
        return b === null || h === null || h === 0 ? '-' : `${(b / h).toFixed(b / h >= 100 ? 0 : 1)}x`;
      },
    });
  }
  return columns;
}

/** Widest line of the printed report: an 80-column terminal shows it without wrapping. */
export const MAX_WIDTH = 80;

/**
 * The tables, each at most {@link MAX_WIDTH} columns wide: the routing work
 * (visits, waste, bytes), the CPU it cost, and, when the transport measured
 * it, the latency.
 */
export function formatTables(report: BenchReport): string[] {
  const nodes: Column = { group: '', header: 'nodes', cell: (r) => String(r.nodes) };
  const tables = [
    [
      nodes,
      ...pair('visits/msg', (f) => f.nodeVisitsPerMessage, (v) => v.toFixed(2), true),
      ...pair('wasted/msg', (f) => f.wastedVisitsPerMessage, (v) => v.toFixed(2), false),
      ...pair('bus B/msg', (f) => f.busBytesPerMessage, (v) => Math.round(v).toString(), true),
    ],
    [
      nodes,
      ...pair('CPU µs/deliv', (f) => f.cpuMicrosPerDelivered, micros, true),
      ...pair('deliv/CPU-s', (f) => f.deliveredPerCpuSecond, compact, false),
    ],
  ];
  tables.push([nodes, ...pair('p50 ms', (f) => f.latencyP50Ms, millis, true), ...pair('p99 ms', (f) => f.latencyP99Ms, millis, true)]);
  if (report.results.some((r) => r.baselines !== undefined)) tables.push(baselineColumns(nodes));
  return tables.map((columns) => formatTable(report, columns));
}

/**
 * Socket.IO beside ringroute: visits per message and CPU per delivered
 * message with @socket.io/redis-adapter (sio), ringroute/socket.io (rr-sio)
 * and ringroute's hash mode, and how many times hash's CPU sio costs.
 */
function baselineColumns(nodes: Column): Column[] {
  const value = (r: NodeCountResult, name: 'socket.io-redis-adapter' | 'ringroute-socket.io', get: (f: Figures) => number): string => {
    const f = r.baselines?.[name];
    return f === undefined ? '-' : micros(get(f));
  };
  const visits = (f: Figures): number => f.nodeVisitsPerMessage;
  const cpu = (f: Figures): number => f.cpuMicrosPerDelivered;
  return [
    nodes,
    { group: 'visits/msg', header: 'sio', cell: (r) => value(r, 'socket.io-redis-adapter', visits) },
    { group: 'visits/msg', header: 'rr-sio', cell: (r) => value(r, 'ringroute-socket.io', visits) },
    { group: 'CPU µs/deliv', header: 'sio', cell: (r) => value(r, 'socket.io-redis-adapter', cpu) },
    { group: 'CPU µs/deliv', header: 'rr-sio', cell: (r) => value(r, 'ringroute-socket.io', cpu) },
    { group: 'CPU µs/deliv', header: 'hash', cell: (r) => micros(r.hash.cpuMicrosPerDelivered) },
    {
      group: 'CPU µs/deliv',
      header: 'sio/hash',
      cell: (r) => {
        const sio = r.baselines?.['socket.io-redis-adapter']?.cpuMicrosPerDelivered;
        return sio === undefined || r.hash.cpuMicrosPerDelivered === 0 ? '-' : `${(sio / r.hash.cpuMicrosPerDelivered).toFixed(1)}x`;
      },
    },
  ];
}

/** One table: a row per node count, group headers over their columns. */
function formatTable(report: BenchReport, columns: readonly Column[]): string {
  const rows = report.results.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((row) => row[i]!.length)));

  // Widen the last column of a group until the group header fits.
  const groups: Array<{ name: string; from: number; to: number }> = [];
  columns.forEach((c, i) => {
    const last = groups.at(-1);
    if (last !== undefined && last.name === c.group) last.to = i;
    else groups.push({ name: c.group, from: i, to: i });
  });
  const gap = 2;
  const groupGap = 3;
  for (const g of groups) {
    const span = (): number => widths.slice(g.from, g.to + 1).reduce((a, b) => a + b, 0) + gap * (g.to - g.from);
    while (span() < g.name.length) widths[g.to]!++;
  }
  const line = (cells: readonly string[]): string =>
    groups
      .map((g) => cells.slice(g.from, g.to + 1).map((cell, k) => cell.padStart(widths[g.from + k]!)).join(' '.repeat(gap)))
      .join(' '.repeat(groupGap))
      .trimEnd();
  const groupLine = groups
    .map((g) => {
      const span = widths.slice(g.from, g.to + 1).reduce((a, b) => a + b, 0) + gap * (g.to - g.from);
      return g.name.padStart(Math.floor((span + g.name.length) / 2)).padEnd(span);
    })
    .join(' '.repeat(groupGap))
    .trimEnd();
  const header = line(columns.map((c) => c.header));
  const rule = '-'.repeat(header.length);
  return [groupLine, header, rule, ...rows.map(line)].join('\n');
}

/** Wraps prose at spaces so that no line is wider than {@link MAX_WIDTH}; `indent` starts the continuation lines. */
export function wrap(text: string, indent = ''): string {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    // A paragraph's own leading spaces (a list item's) are kept.
    const lead = paragraph.length - paragraph.trimStart().length;
    let line = paragraph.slice(0, lead);
    let first = true;
    for (const word of paragraph.slice(lead).split(' ')) {
      if (!first && line.length + 1 + word.length > MAX_WIDTH) {
        out.push(line);
        line = indent + word;
      } else line = first ? line + word : `${line} ${word}`;
      first = false;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** What ran, on what, in one or two lines. */
export function formatHeadline(report: BenchReport): string {
  const a = report.args;
  const w = report.workload;
  const traffic =
    w.groupMessages === 0
      ? `${w.messages} one-to-one messages`
      : `${w.messages} messages (${w.directMessages} one-to-one, ${w.groupMessages} to groups of ${a.groupSize})`;
  const transport = a.transport === 'memory' ? 'memory transport' : `${a.transport} transport (${a.rate === 0 ? 'unpaced' : `${a.rate} msg/s offered`})`;
  const sockets = a.sockets === 'ws' ? ', WebSocket sessions' : '';
  const m = report.machine;
  const rounds = a.rounds > 1 ? `, median of ${a.rounds} rounds` : '';
  return `${wrap(`ringroute bench: ${transport}${sockets}, ${w.users} users, ${traffic}, seed ${a.seed}${rounds}`, '  ')}\n${wrap(`${m.cpu}, ${m.cores} cores, Node ${m.node}`)}`;
}

/** The correctness line: every system delivered every pair once, or what went wrong. */
export function formatVerdict(report: BenchReport): string {
  const lines: string[] = [];
  if (!report.complete) lines.push(wrap(`INCOMPLETE: the run ended early (${report.incomplete}); the tables hold the node counts finished before.`));
  if (report.problems.length > 0) lines.push('DELIVERY MISMATCH:', ...report.problems.map((p) => wrap(`  - ${p}`, '    ')));
  else if (report.complete) {
    const systems = report.results.some((r) => r.baselines !== undefined) ? 'every system' : 'both modes';
    lines.push(wrap(`${systems} delivered all ${report.workload.expectedDelivered} expected (message, user) pairs, each once, at every node count (checksum ${report.workload.expectedChecksum})`));
  }
  return lines.join('\n');
}

/** Where the CPU went at the largest node count, per delivered message (memory transport), in two lines. */
export function formatSplit(report: BenchReport): string {
  const r = report.results.at(-1);
  if (r === undefined || r.broadcast.cpuSplitMicrosPerDelivered === null || r.hash.cpuSplitMicrosPerDelivered === null) return '';
  const part = (f: Figures): string => {
    const s = f.cpuSplitMicrosPerDelivered!;
    return [s.routing, s.codec, s.delivery, s.transport, s.sender, s.clients, s.rest].map(micros).join(' / ');
  };
  return wrap(`CPU µs/delivered at ${r.nodes} nodes (timed round), routing / codec / delivery / transport / sender / clients / rest: broadcast ${part(r.broadcast)}; hash ${part(r.hash)}`, '  ');
}

/** Headline, tables and verdict, as printed on stdout: no line wider than {@link MAX_WIDTH}. */
export function formatReport(report: BenchReport): string {
  const notes: string[] = ['ratio = broadcast / hash.'];
  if (report.args.transport === 'redis') notes.push(`CPU includes the sender, every node process and the Redis server.${report.args.baseline === null ? '' : ' The Socket.IO servers (sio, rr-sio) share one process, where ringroute\'s nodes have one each: compare sio with rr-sio for routing alone.'}`);
  else if (report.args.transport === 'nats') notes.push('CPU includes the sender and every node process, not the NATS server.');
  else notes.push('CPU is the whole process: sender, nodes, transport and the in-process clients.');
  if (report.args.sockets === 'ws') notes.push('Sessions are WebSockets over loopback; their clients run in the nodes\' processes.');
  notes.push('Latency: send to the last acknowledgement. More figures: --json.');
  const split = formatSplit(report);
  return `${formatHeadline(report)}\n\n${formatTables(report).join('\n\n')}\n\n${wrap(notes.join(' '))}\n${split === '' ? '' : `${split}\n`}${formatVerdict(report)}\n`;
}

function micros(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function millis(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function compact(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v));
}
