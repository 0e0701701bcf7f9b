import { describe, expect, it } from 'vitest';
import { runRoutingBench } from '../../src/cli/bench-routing.js';
import { niceTicks, renderSvg } from '../../src/cli/svg.js';
import { memoryTransport } from '../../src/cli/transport-memory.js';
import { allElements, parseXml } from './svg-tree.js';
import { smallOptions } from './support.js';

describe('renderSvg', () => {
  it('draws a well-formed standalone chart with both series, axes, ticks, legend and title', async () => {
    const report = await runRoutingBench(smallOptions({ nodes: [1, 2, 4, 8] }), memoryTransport());
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
    expect(texts).toContain('nodes in the cluster');
    expect(texts).toContain('CPU µs per delivered message (lower is better)');
    expect(texts.some((t) => t.startsWith('broadcast:'))).toBe(true);
    expect(texts.some((t) => t.startsWith('hash:'))).toBe(true);
    for (const n of ['1', '2', '4', '8']) expect(texts).toContain(n);
    expect(texts.some((t) => /^\d+(\.\d+)?x$/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes('memory transport, 300 users, 400 messages'))).toBe(true);
  });

  it('escapes text it did not write itself', async () => {
    const report = await runRoutingBench(smallOptions({ nodes: [2] }), memoryTransport());
    const svg = renderSvg({ ...report, machine: { ...report.machine, cpu: 'Fast & <Cheap> "CPU"' } });
    const texts = allElements(parseXml(svg)).map((e) => e.text);
    expect(texts.some((t) => t.startsWith('Fast & <Cheap> "CPU"'))).toBe(true);
  });

  it('picks round y ticks that cover the data', () => {
    expect(niceTicks(7.3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(niceTicks(0.42)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(niceTicks(180)).toEqual([0, 50, 100, 150, 200]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});
