/** Formats a {@link ProxyScenarioReport}: tables that fit 80 columns and a one-line verdict (fits 100). */
import type { ProxyScenarioReport } from './scenario.js';

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells.map((r, i) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ') + (i === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

/** Whether the run shows what it must: every change closed exactly the users the proxy moved, and nothing was lost. */
export function passed(report: ProxyScenarioReport): boolean {
  return report.changes.every((c) => c.equal && c.mispredicted === 0) && report.messages.lost === 0;
}

export function verdict(report: ProxyScenarioReport): string {
  const moved = report.changes.map((c) => c.moved).join(' + ');
  const m = report.messages;
  return passed(report)
    ? `PASS: ${report.gateway} moved ${moved} users, nodes closed exactly those; ${m.lost} of ${m.sent} messages lost`
    : `FAIL: ${report.changes.filter((c) => !c.equal || c.mispredicted > 0).length} change(s) with closed != moved or mispredicted; ${m.lost} of ${m.sent} lost`;
}

export function formatReport(report: ProxyScenarioReport): string {
  const out: string[] = [];
  out.push(`${report.gateway} as the WebSocket gateway, ${report.users} users (INSECURE LOCAL DEMO: 127.0.0.1 only, ?user= trusted)`);
  out.push(`Ring, membership and messages: ${report.adapters}`.slice(0, 80));
  out.push('');
  const rows: Array<Array<string | number>> = [];
  for (const c of report.changes) {
    for (const n of c.nodes) rows.push([c.change, n.node, n.closed, n.dropped, n.movedAway, n.movedIn]);
    rows.push([c.change, 'all', c.closed - c.nodes.reduce((s, n) => s + n.dropped, 0), c.nodes.reduce((s, n) => s + n.dropped, 0), c.moved, c.moved]);
  }
  out.push('Per change: sessions each node closed (handoff) or dropped (it died),');
  out.push('and users the proxy was observed to move away from / onto it (probes)');
  out.push(table(['change', 'node', 'closed', 'dropped', 'moved away', 'moved in'], rows));
  out.push('');
  out.push(
    table(
      ['change', 'closed+dropped', 'proxy moved', 'equal', 'mispredicted', 'sync ms'],
      report.changes.map((c) => [c.change, c.closed, c.moved, c.equal ? 'yes' : 'NO', c.mispredicted, `${c.syncMs}${c.reloaded !== false ? ' (reload)' : ''}`]),
    ),
  );
  out.push('');
  const m = report.messages;
  out.push('Messages sent with a Dispatcher during the run (lost: never reached a client)');
  out.push(table(['sent', 'delivered', 'failed', 'unknown', 'lost'], [[m.sent, m.delivered, m.failed, m.unknown, m.lost]]));
  if (report.errors.length > 0) {
    out.push('');
    out.push(`Errors reported (${report.errors.length}, first ones):`);
    for (const e of report.errors.slice(0, 5)) out.push(`  ${e.slice(0, 76)}`);
  }
  out.push('');
  out.push(`${(report.ms / 1000).toFixed(1)} s`);
  out.push(verdict(report));
  return out.join('\n');
}
