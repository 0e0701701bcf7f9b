import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import { type Box, crosses, inside, overlaps, textBox } from '../../src/cli/svg-layout.js';
import { PLOT_BOX, niceTicks, renderSvg } from '../../src/cli/svg.js';
import { type XmlElement, allElements, parseXml } from './svg-tree.js';
import { runSmall } from './support.js';

/** The box each `<text>` of the chart covers, rotated titles included, with its text. */
function textBoxes(root: XmlElement): Array<Box & { text: string }> {
  return allElements(root)
    .filter((e) => e.name === 'text')
    .map((e) => {
      const size = Number(e.attributes['font-size'] ?? root.attributes['font-size'] ?? 12);
      const bold = e.attributes['font-weight'] === 'bold';
      const anchor = (e.attributes['text-anchor'] ?? 'start') as 'start' | 'middle' | 'end';
      const rotated = /^translate\(([\d.]+) ([\d.]+)\) rotate\(-90\)$/.exec(e.attributes.transform ?? '');
      if (rotated !== null) {
        const flat = textBox(e.text, 0, 0, size, anchor, bold);
        return { text: e.text, x: Number(rotated[1]) + flat.y, y: Number(rotated[2]) - flat.w / 2, w: flat.h, h: flat.w };
      }
      return { text: e.text, ...textBox(e.text, Number(e.attributes.x), Number(e.attributes.y), size, anchor, bold) };
    });
}

/** A report with the given node counts and CPU figures, for layouts no real run is needed for. */
let real: Promise<BenchReport> | undefined;
async function syntheticReport(points: ReadonlyArray<[nodes: number, broadcast: number, hash: number]>): Promise<BenchReport> {
  // One real run is the template of every synthetic report.
  real ??= runSmall({ nodes: [2] });
  const base = await real;
  const template = base.results[0]!;
  return {
    ...base,
    results: points.map(([nodes, b, h]) => ({
      ...template,
      nodes,
      broadcast: { ...template.broadcast, cpuMicrosPerDelivered: b },
      hash: { ...template.hash, cpuMicrosPerDelivered: h },
    })),
  };
}

const doubling = (from: number, to: number): number[] => {
  const out: number[] = [];
  for (let n = from; n <= to; n *= 2) out.push(n);
  return out;
};

const LAYOUTS: ReadonlyArray<[name: string, points: ReadonlyArray<[number, number, number]>]> = [
  ['2 node counts', [[2, 1.8, 1.2], [4, 3.1, 1.3]]],
  ['one node count', [[16, 4, 2]]],
  ['2 to 1024 nodes, broadcast growing linearly', doubling(2, 1024).map((n) => [n, 0.4 * n, 1 + Math.log2(n) / 10])],
  ['both modes equal', doubling(1, 64).map((n) => [n, 2, 2])],
  ['crowded counts 2 to 12', Array.from({ length: 11 }, (_, i) => [i + 2, 1 + i / 10, 1 + i / 11] as [number, number, number])],
  ['hash above broadcast, tiny values', [[2, 0.01, 0.02], [4, 0.02, 0.021], [8, 0.04, 0.02]]],
];

describe('renderSvg', () => {
  it('draws a well-formed standalone chart with both series, axes, ticks, legend and title', async () => {
    // Figures well apart, so every value label fits (labels that would collide are left out,
    // and a real run's figures can fall close together).
    const report = await syntheticReport([[1, 1.5, 1], [2, 2.5, 1.1], [4, 4.5, 1.2], [8, 8.5, 1.3]]);
    const svg = renderSvg(report);
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.attributes.viewBox).toMatch(/^0 0 \d+ \d+$/);
    const elements = allElements(root);
    // Standalone: nothing that loads or runs anything else.
    expect(elements.some((e) => ['script', 'image', 'foreignObject', 'use'].includes(e.name))).toBe(false);
    expect(svg).not.toMatch(/href=/);

    const series = elements.filter((e) => e.name === 'g' && e.attributes.class === 'series');
    expect(series.map((g) => g.attributes['data-mode'])).toEqual(['broadcast', 'hash']);
    for (const g of series) {
      const line = g.children.find((c) => c.name === 'polyline')!;
      expect(line.attributes.points!.split(' ')).toHaveLength(4);
      // One value label per point.
      expect(g.children.filter((c) => c.name === 'text')).toHaveLength(4);
    }
    const texts = elements.filter((e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('CPU per delivered message: broadcast versus hash routing');
    expect(texts).toContain('nodes in the cluster (log2 scale)');
    expect(texts).toContain('CPU µs per delivered message (lower is better)');
    expect(texts.some((t) => t.startsWith('broadcast:'))).toBe(true);
    expect(texts.some((t) => t.startsWith('hash:'))).toBe(true);
    for (const n of ['1', '2', '4', '8']) expect(texts).toContain(n);
    expect(texts.some((t) => /^\d+(\.\d+)?x$/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes('memory transport, 300 users, 400 messages'))).toBe(true);
  });

  it('escapes text it did not write itself', async () => {
    const report = await runSmall({ nodes: [2] });
    const svg = renderSvg({ ...report, machine: { ...report.machine, cpu: 'Fast & <Cheap> "CPU"' } });
    const texts = allElements(parseXml(svg)).map((e) => e.text);
    expect(texts.some((t) => t.startsWith('Fast & <Cheap> "CPU"'))).toBe(true);
  });

  it.each(LAYOUTS)('lays out %s with no text over another and everything inside the viewBox', async (_, points) => {
    const root = parseXml(renderSvg(await syntheticReport(points)));
    const [, , width, height] = root.attributes.viewBox!.split(' ').map(Number);
    const view = { x: 0, y: 0, w: width!, h: height! };
    const boxes = textBoxes(root);
    expect(boxes.length).toBeGreaterThan(5);
    for (const box of boxes) expect(inside(box, view), `${box.text} leaves the viewBox`).toBe(true);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) expect(overlaps(boxes[i]!, boxes[j]!), `${boxes[i]!.text} overlaps ${boxes[j]!.text}`).toBe(false);
    }
    // No series line runs through a text.
    for (const polyline of allElements(root).filter((e) => e.name === 'polyline')) {
      const xy = polyline.attributes.points!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
      for (let i = 1; i < xy.length; i++) {
        const segment = { x1: xy[i - 1]![0], y1: xy[i - 1]![1], x2: xy[i]![0], y2: xy[i]![1] };
        for (const box of boxes) expect(crosses(segment, box), `a series line runs through ${box.text}`).toBe(false);
      }
    }
    // The legend is outside the plot area.
    const legend = allElements(root).find((e) => e.name === 'g' && e.attributes.class === 'legend')!;
    for (const box of textBoxes(legend)) expect(overlaps(box, PLOT_BOX), `legend entry ${box.text} is inside the plot`).toBe(false);
    for (const line of legend.children.filter((c) => c.name === 'line')) expect(Number(line.attributes.y1)).toBeLessThan(PLOT_BOX.y);
    // Every node count has a tick.
    const ticks = allElements(root).filter((e) => e.name === 'line' && Number(e.attributes.y2) - Number(e.attributes.y1) === 5);
    expect(ticks).toHaveLength(points.length);
  });

  it('puts doubling node counts at equal steps: a log 2 x axis', async () => {
    const root = parseXml(renderSvg(await syntheticReport(doubling(2, 256).map((n) => [n, n / 10, 1]))));
    const series = allElements(root).find((e) => e.attributes['data-mode'] === 'hash')!;
    const xs = series.children.find((c) => c.name === 'polyline')!.attributes.points!.split(' ').map((p) => Number(p.split(',')[0]));
    const steps = xs.slice(1).map((x, i) => x - xs[i]!);
    for (const step of steps) expect(step).toBeCloseTo(steps[0]!, 0);
    expect(xs[0]!).toBeGreaterThan(PLOT_BOX.x + 10);
    expect(xs.at(-1)!).toBeLessThan(PLOT_BOX.x + PLOT_BOX.w - 10);
    expect(allElements(root).some((e) => e.name === 'text' && e.text === 'nodes in the cluster (log2 scale)')).toBe(true);
  });

  it('picks round y ticks that cover the data', () => {
    expect(niceTicks(7.3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(niceTicks(0.42)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(niceTicks(180)).toEqual([0, 50, 100, 150, 200]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe('crosses', () => {
  const box = { x: 10, y: 10, w: 20, h: 10 };
  it.each([
    ['through the middle', { x1: 0, y1: 15, x2: 40, y2: 15 }, true],
    ['ending inside', { x1: 0, y1: 0, x2: 15, y2: 12 }, true],
    ['wholly inside', { x1: 12, y1: 12, x2: 14, y2: 14 }, true],
    ['passing above', { x1: 0, y1: 5, x2: 40, y2: 5 }, false],
    ['missing a corner diagonally', { x1: 25, y1: 0, x2: 40, y2: 15 }, false],
    ['stopping short', { x1: 0, y1: 15, x2: 9, y2: 15 }, false],
  ])('tells a segment %s', (_, segment, expected) => {
    expect(crosses(segment, box)).toBe(expected);
  });
});

describe('renderSvg of a run that ended early', () => {
  it('draws a well-formed chart with no points and no NaN when no node count finished', async () => {
    const report = await syntheticReport([[2, 1, 1]]);
    const svg = renderSvg({ ...report, results: [], complete: false, incomplete: '2 nodes: lost the connection to Redis', correct: false });
    expect(svg).not.toMatch(/NaN|Infinity/);
    const series = allElements(parseXml(svg)).filter((e) => e.name === 'g' && e.attributes.class === 'series');
    expect(series).toHaveLength(2);
    for (const g of series) expect(g.children.find((c) => c.name === 'polyline')!.attributes.points).toBe('');
  });
});
