/**
 * The chart of `--svg`: CPU per delivered message against node count (a
 * log 2 axis), one line per mode, as a standalone SVG file (no scripts, no
 * external fonts or styles) that reads on its own: title, what ran, a
 * legend above the plot, axes with ticks and labels, each point's value and
 * the ratio at the largest count.
 */
import type { BenchReport } from './bench.js';
import { type Anchor, type Box, Layout, textBox } from './svg-layout.js';

const WIDTH = 760;
const HEIGHT = 480;
/** The plot area; the legend sits in its own row between the titles and the plot. */
const PLOT = { left: 78, right: 36, top: 112, bottom: 64 };
const LEGEND_Y = 90;
const FONT = 12;
const SMALL = 11;
const SERIES = [
  { mode: 'broadcast', label: 'broadcast: every node gets every message', color: '#c0392b', marker: 'circle' },
  { mode: 'hash', label: 'hash: only the owners of the recipients', color: '#1f6fb2', marker: 'square' },
] as const;
/** Half a doubling of margin on each side of the x axis, so end points and their labels clear the axes. */
const X_PAD_LOG2 = 0.5;

/**
 * Renders the chart. The x axis is log 2 (node counts double), the legend
 * is outside the plot, and every label is placed clear of the others and
 * inside the drawing; a value label that cannot be placed is left out (the
 * JSON report has every figure).
 */
export function renderSvg(report: BenchReport): string {
  const results = report.results;
  const xs = results.map((r) => r.nodes);
  const values = results.flatMap((r) => [r.broadcast.cpuMicrosPerDelivered, r.hash.cpuMicrosPerDelivered]);
  const plotW = WIDTH - PLOT.left - PLOT.right;
  const plotH = HEIGHT - PLOT.top - PLOT.bottom;
  const plotBottom = PLOT.top + plotH;

  const lo = Math.log2(Math.min(...xs)) - X_PAD_LOG2;
  const hi = Math.log2(Math.max(...xs)) + X_PAD_LOG2;
  const xPos = (n: number): number => PLOT.left + ((Math.log2(n) - lo) / (hi - lo)) * plotW;
  const yTicks = niceTicks(Math.max(...values, 0));
  const yMax = yTicks.at(-1)!;
  const yPos = (v: number): number => PLOT.top + plotH - (v / yMax) * plotH;

  const a = report.args;
  const w = report.workload;
  const traffic = w.groupMessages === 0 ? 'one-to-one messages' : `${Math.round((w.groupMessages / w.messages) * 100)}% to groups of ${a.groupSize}`;
  const subtitle = `${a.transport} transport, ${w.users} users, ${w.messages} messages (${traffic}), seed ${a.seed}`;
  const machine = `${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, ${report.date.slice(0, 10)}`;

  const layout = new Layout({ x: 0, y: 0, w: WIDTH, h: HEIGHT });
  const out: string[] = [];
  /** A text that must appear: reserved whether or not it collides (the test checks that it does not). */
  const fixed = (text: string, x: number, y: number, attrs: string, size = FONT, anchor: Anchor = 'middle', bold = false): string => {
    layout.reserve(textBox(text, x, y, size, anchor, bold));
    return `<text x="${f(x)}" y="${f(y)}" text-anchor="${anchor}"${attrs}>${esc(text)}</text>`;
  };

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<title>CPU per delivered message, broadcast versus hash routing</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    fixed('CPU per delivered message: broadcast versus hash routing', WIDTH / 2, 28, ' font-size="17" font-weight="bold" fill="#222"', 17, 'middle', true),
    fixed(subtitle, WIDTH / 2, 48, ' fill="#444"'),
    fixed(machine, WIDTH / 2, 64, ' fill="#777" font-size="11"', SMALL),
  );

  // Legend: one row above the plot, centred, never over the data.
  const sample = 26;
  const entryWidths = SERIES.map((s) => sample + 8 + textBox(s.label, 0, 0, FONT, 'start').w);
  const spacing = 28;
  let lx = (WIDTH - (entryWidths.reduce((x, y) => x + y, 0) + spacing * (SERIES.length - 1))) / 2;
  out.push(`<g class="legend">`);
  SERIES.forEach((s, i) => {
    out.push(
      `<line x1="${f(lx)}" y1="${LEGEND_Y}" x2="${f(lx + sample)}" y2="${LEGEND_Y}" stroke="${s.color}" stroke-width="2.5"/>`,
      marker(s.marker, lx + sample / 2, LEGEND_Y, s.color),
      fixed(s.label, lx + sample + 8, LEGEND_Y + 4, ' fill="#222"', FONT, 'start'),
    );
    layout.reserve({ x: lx, y: LEGEND_Y - 6, w: sample, h: 12 });
    lx += entryWidths[i]! + spacing;
  });
  out.push('</g>');

  // Grid and y axis.
  for (const tick of yTicks) {
    const y = yPos(tick);
    out.push(`<line x1="${PLOT.left}" y1="${f(y)}" x2="${PLOT.left + plotW}" y2="${f(y)}" stroke="#e3e3e3"/>`, fixed(tickLabel(tick), PLOT.left - 8, y + 4, ' fill="#444"', FONT, 'end'));
  }
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${plotBottom}" stroke="#444"/>`,
    `<line x1="${PLOT.left}" y1="${plotBottom}" x2="${PLOT.left + plotW}" y2="${plotBottom}" stroke="#444"/>`,
    fixed('nodes in the cluster (log2 scale)', PLOT.left + plotW / 2, HEIGHT - 18, ' fill="#222"'),
  );
  // The y title is drawn rotated: its box is tall and narrow.
  const yTitle = 'CPU µs per delivered message (lower is better)';
  const yTitleLength = textBox(yTitle, 0, 0, FONT, 'middle').w;
  layout.reserve({ x: 20 - FONT * 0.8, y: PLOT.top + plotH / 2 - yTitleLength / 2, w: FONT * 1.05, h: yTitleLength });
  out.push(`<text transform="translate(20 ${f(PLOT.top + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#222">${esc(yTitle)}</text>`);

  // x ticks at each measured count; a label that would touch its neighbour is left out (the tick stays).
  for (const n of xs) {
    const x = xPos(n);
    out.push(`<line x1="${f(x)}" y1="${plotBottom}" x2="${f(x)}" y2="${plotBottom + 5}" stroke="#444"/>`);
    const y = plotBottom + 19;
    if (layout.place([textBox(String(n), x, y, FONT, 'middle')]) === 0) out.push(`<text x="${f(x)}" y="${y}" text-anchor="middle" fill="#444">${n}</text>`);
  }

  // Markers, series lines and axes are obstacles for the value and ratio labels.
  for (const s of SERIES) {
    const points = results.map((r) => ({ x: xPos(r.nodes), y: yPos(r[s.mode].cpuMicrosPerDelivered) }));
    points.forEach((p, i) => {
      layout.reserve({ x: p.x - 5, y: p.y - 5, w: 10, h: 10 });
      const next = points[i + 1];
      if (next !== undefined) layout.reserveLine({ x1: p.x, y1: p.y, x2: next.x, y2: next.y });
    });
  }
  layout.reserveLine({ x1: PLOT.left, y1: PLOT.top, x2: PLOT.left, y2: plotBottom });
  layout.reserveLine({ x1: PLOT.left, y1: plotBottom, x2: PLOT.left + plotW, y2: plotBottom });

  // Series: line, markers, value labels (on the side away from the other series first).
  for (const s of SERIES) {
    const points = results.map((r) => ({ x: xPos(r.nodes), y: yPos(r[s.mode].cpuMicrosPerDelivered), v: r[s.mode].cpuMicrosPerDelivered }));
    out.push(`<g class="series" data-mode="${s.mode}">`);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${points.map((p) => `${f(p.x)},${f(p.y)}`).join(' ')}"/>`);
    points.forEach((p, i) => {
      out.push(marker(s.marker, p.x, p.y, s.color));
      const other = results[i]![s.mode === 'broadcast' ? 'hash' : 'broadcast'].cpuMicrosPerDelivered;
      const above = p.v > other || (p.v === other && s.mode === 'broadcast');
      const text = valueLabel(p.v);
      const ys = above ? [p.y - 9, p.y + 17, p.y - 23, p.y + 31] : [p.y + 17, p.y - 9, p.y + 31, p.y - 23];
      const candidates = [
        ...ys.map((y) => ({ x: p.x, y, anchor: 'middle' as const })),
        { x: p.x + 8, y: p.y + 4, anchor: 'start' as const },
        { x: p.x - 8, y: p.y + 4, anchor: 'end' as const },
      ];
      const chosen = layout.place(candidates.map((c) => textBox(text, c.x, c.y, SMALL, c.anchor)));
      if (chosen === -1) return;
      const c = candidates[chosen]!;
      out.push(`<text x="${f(c.x)}" y="${f(c.y)}" text-anchor="${c.anchor}" fill="${s.color}" font-size="${SMALL}">${esc(text)}</text>`);
    });
    out.push('</g>');
  }

  // Ratio at the largest node count, beside its two points.
  const last = results.at(-1);
  if (last !== undefined && last.hash.cpuMicrosPerDelivered > 0) {
    const text = `${(last.broadcast.cpuMicrosPerDelivered / last.hash.cpuMicrosPerDelivered).toFixed(1)}x`;
    const x = xPos(last.nodes);
    const yb = yPos(last.broadcast.cpuMicrosPerDelivered);
    const yh = yPos(last.hash.cpuMicrosPerDelivered);
    const mid = (yb + yh) / 2 + 4;
    const candidates = [
      { x: x + 10, y: mid, anchor: 'start' as const },
      { x: x - 10, y: mid, anchor: 'end' as const },
      { x: x + 10, y: Math.min(yb, yh) - 12, anchor: 'start' as const },
      { x: x - 10, y: Math.min(yb, yh) - 12, anchor: 'end' as const },
    ];
    const chosen = layout.place(candidates.map((c) => textBox(text, c.x, c.y, FONT, c.anchor, true)));
    if (chosen !== -1) {
      const c = candidates[chosen]!;
      out.push(`<text class="ratio" x="${f(c.x)}" y="${f(c.y)}" text-anchor="${c.anchor}" fill="#222" font-weight="bold">${esc(text)}</text>`);
    }
  }

  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The box of the plot area, for tests. */
export const PLOT_BOX: Box = { x: PLOT.left, y: PLOT.top, w: WIDTH - PLOT.left - PLOT.right, h: HEIGHT - PLOT.top - PLOT.bottom };

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
