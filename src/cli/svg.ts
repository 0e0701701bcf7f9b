/**
 * The chart of `--svg`: CPU per delivered message against node count, one
 * line per mode, as a standalone SVG file (no scripts, no external fonts or
 * styles) that reads on its own: title, what ran, axes with ticks and
 * labels, a legend, each point's value and the ratio at the largest count.
 */
import type { BenchReport } from './bench-routing.js';

const WIDTH = 760;
const HEIGHT = 460;
const PLOT = { left: 78, right: 36, top: 86, bottom: 64 };
const SERIES = [
  { mode: 'broadcast', label: 'broadcast: every node gets every message', color: '#c0392b', marker: 'circle' },
  { mode: 'hash', label: 'hash: only the owners of the recipients', color: '#1f6fb2', marker: 'square' },
] as const;

/** Renders the chart. */
export function renderSvg(report: BenchReport): string {
  const results = report.results;
  const xs = results.map((r) => r.nodes);
  const values = results.flatMap((r) => [r.broadcast.cpuMicrosPerDelivered, r.hash.cpuMicrosPerDelivered]);
  const plotW = WIDTH - PLOT.left - PLOT.right;
  const plotH = HEIGHT - PLOT.top - PLOT.bottom;

  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  // Counts that span a wide range (2..1024) read better on a log scale; 2..16 on a linear one shows broadcast's straight line.
  const logX = maxX / minX >= 32;
  const xPos = (n: number): number => {
    if (minX === maxX) return PLOT.left + plotW / 2;
    const t = logX ? Math.log2(n / minX) / Math.log2(maxX / minX) : n / maxX;
    return PLOT.left + t * plotW;
  };
  const yTicks = niceTicks(Math.max(...values, 0));
  const yMax = yTicks.at(-1)!;
  const yPos = (v: number): number => PLOT.top + plotH - (v / yMax) * plotH;

  const a = report.args;
  const w = report.workload;
  const traffic = w.groupMessages === 0 ? 'one-to-one messages' : `${Math.round((w.groupMessages / w.messages) * 100)}% to groups of ${a.groupSize}`;
  const subtitle = `${a.transport} transport, ${w.users} users, ${w.messages} messages (${traffic}), seed ${a.seed}`;
  const machine = `${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, ${report.date.slice(0, 10)}`;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>CPU per delivered message, broadcast versus hash routing</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold" fill="#222">CPU per delivered message: broadcast versus hash routing</text>`,
    `<text x="${WIDTH / 2}" y="48" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`,
    `<text x="${WIDTH / 2}" y="64" text-anchor="middle" fill="#777" font-size="11">${esc(machine)}</text>`,
  );

  // Grid and y axis.
  for (const tick of yTicks) {
    const y = yPos(tick);
    out.push(
      `<line x1="${PLOT.left}" y1="${f(y)}" x2="${PLOT.left + plotW}" y2="${f(y)}" stroke="#e3e3e3"/>`,
      `<text x="${PLOT.left - 8}" y="${f(y + 4)}" text-anchor="end" fill="#444">${esc(tickLabel(tick))}</text>`,
    );
  }
  // x axis ticks at each measured count.
  for (const n of xs) {
    const x = xPos(n);
    out.push(
      `<line x1="${f(x)}" y1="${PLOT.top + plotH}" x2="${f(x)}" y2="${PLOT.top + plotH + 5}" stroke="#444"/>`,
      `<text x="${f(x)}" y="${PLOT.top + plotH + 19}" text-anchor="middle" fill="#444">${n}</text>`,
    );
  }
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.top + plotH}" stroke="#444"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top + plotH}" x2="${PLOT.left + plotW}" y2="${PLOT.top + plotH}" stroke="#444"/>`,
    `<text x="${PLOT.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle" fill="#222">nodes in the cluster${logX ? ' (log scale)' : ''}</text>`,
    `<text transform="translate(20 ${PLOT.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222">CPU µs per delivered message (lower is better)</text>`,
  );

  // Series: line, markers, value labels.
  for (const s of SERIES) {
    const points = results.map((r) => ({ x: xPos(r.nodes), y: yPos(r[s.mode].cpuMicrosPerDelivered), v: r[s.mode].cpuMicrosPerDelivered }));
    out.push(`<g class="series" data-mode="${s.mode}">`);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${points.map((p) => `${f(p.x)},${f(p.y)}`).join(' ')}"/>`);
    points.forEach((p, i) => {
      out.push(marker(s.marker, p.x, p.y, s.color));
      // Label on the side away from the other series, so the two labels never collide.
      const other = results[i]![s.mode === 'broadcast' ? 'hash' : 'broadcast'].cpuMicrosPerDelivered;
      const above = p.v > other || (p.v === other && s.mode === 'broadcast');
      out.push(`<text x="${f(p.x)}" y="${f(above ? p.y - 9 : p.y + 17)}" text-anchor="middle" fill="${s.color}" font-size="11">${esc(valueLabel(p.v))}</text>`);
    });
    out.push('</g>');
  }

  // Ratio at the largest node count.
  const last = results.at(-1);
  if (last !== undefined && last.hash.cpuMicrosPerDelivered > 0) {
    const r = last.broadcast.cpuMicrosPerDelivered / last.hash.cpuMicrosPerDelivered;
    const x = xPos(last.nodes);
    const y = (yPos(last.broadcast.cpuMicrosPerDelivered) + yPos(last.hash.cpuMicrosPerDelivered)) / 2;
    out.push(`<text x="${f(x - 10)}" y="${f(y + 4)}" text-anchor="end" fill="#222" font-weight="bold">${esc(`${r.toFixed(1)}x`)}</text>`);
  }

  // Legend, top left inside the plot.
  const lx = PLOT.left + 16;
  const ly = PLOT.top + 10;
  out.push(`<g class="legend">`, `<rect x="${lx - 8}" y="${ly - 8}" width="300" height="48" fill="#ffffff" fill-opacity="0.9" stroke="#ccc"/>`);
  SERIES.forEach((s, i) => {
    const y = ly + 8 + i * 20;
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 26}" y2="${y}" stroke="${s.color}" stroke-width="2.5"/>`,
      marker(s.marker, lx + 13, y, s.color),
      `<text x="${lx + 34}" y="${y + 4}" fill="#222">${esc(s.label)}</text>`,
    );
  });
  out.push('</g>', '</svg>');
  return `${out.join('\n')}\n`;
}

function marker(kind: 'circle' | 'square', x: number, y: number, color: string): string {
  return kind === 'circle'
    ? `<circle cx="${f(x)}" cy="${f(y)}" r="4.5" fill="${color}"/>`
    : `<rect x="${f(x - 4)}" y="${f(y - 4)}" width="8" height="8" fill="${color}"/>`;
}

/** Round ticks from 0 to at least `max`: 4 to 8 steps of 1, 2 or 5 x 10^k. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => max / s <= 8)!;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const t = Number((i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

function tickLabel(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

function valueLabel(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function f(v: number): string {
  return Number(v.toFixed(1)).toString();
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
