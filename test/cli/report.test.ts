import { describe, expect, it } from 'vitest';
import { runRoutingBench } from '../../src/cli/bench-routing.js';
import { MAX_WIDTH, formatReport, formatTables, wrap } from '../../src/cli/report.js';
import { memoryTransport } from '../../src/cli/transport-memory.js';
import { smallOptions } from './support.js';

describe('formatReport', () => {
  it('fits every line in 80 columns, with the latency table of a redis run and a long CPU name', async () => {
    const memory = await runRoutingBench(smallOptions({ nodes: [1, 2, 16, 64, 1024] }), memoryTransport());
    // What a redis run adds: latency figures, pacing, and CPU names as long as real ones.
    const latency = { latencyP50Ms: 123.4, latencyP99Ms: 1234.5, latencyMaxMs: 2345.6 };
    const report = {
      ...memory,
      args: { ...memory.args, transport: 'redis' as const, rate: 500 },
      machine: { ...memory.machine, cpu: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz with a very long model name indeed' },
      results: memory.results.map((r) => ({ ...r, broadcast: { ...r.broadcast, ...latency }, hash: { ...r.hash, ...latency } })),
    };
    const text = formatReport(report);
    expect(formatTables(report)).toHaveLength(3);
    expect(text).toMatch(/p50 ms/);
    expect(text).toMatch(/p99 ms/);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    // Nothing is lost to the wrapping: every node count has a row in each table.
    const rows = text.split('\n').filter((line) => /^\s+\d+\s{2}/.test(line));
    const counts = [1, 2, 16, 64, 1024];
    expect(rows.map((row) => Number(row.trim().split(/\s+/)[0]))).toEqual([...counts, ...counts, ...counts]);
  });

  it('prints two tables without latency on the memory transport', async () => {
    const report = await runRoutingBench(smallOptions({ nodes: [2, 4] }), memoryTransport());
    const tables = formatTables(report);
    expect(tables).toHaveLength(2);
    expect(tables[0]).toMatch(/visits\/msg/);
    expect(tables[1]).toMatch(/CPU µs\/deliv/);
    expect(formatReport(report)).not.toMatch(/p50 ms/);
  });
});

describe('wrap', () => {
  it('breaks at spaces within the width, indenting continuation lines, and keeps every word', () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const wrapped = wrap(text, '  ');
    const lines = wrapped.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(MAX_WIDTH);
    for (const line of lines.slice(1)) expect(line.startsWith('  ')).toBe(true);
    expect(wrapped.split(/\s+/).filter(Boolean)).toEqual(text.split(' '));
  });
});
