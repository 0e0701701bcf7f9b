import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import { MAX_WIDTH, formatReport, formatTables, formatVerdict, wrap } from '../../src/cli/report.js';
import { runSmall } from './support.js';

/** The node count in the first column of each table row. */
function rowCounts(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => /^\s+\d+\s{2}/.test(line))
    .map((row) => Number(row.trim().split(/\s+/)[0]));
}

describe('formatReport', () => {
  it('fits every line in 80 columns, with a redis run, Socket.IO baselines and a long CPU name', async () => {
    const real = await runSmall({ nodes: [1, 2], messages: 200 });
    // Rows for large clusters from the real ones: only the widths matter here.
    const memory = { ...real, results: [1, 2, 16, 64, 1024].map((nodes, i) => ({ ...real.results[Math.min(i, 1)]!, nodes })) };
    // What a redis run with --baseline socket.io adds: slow latency, pacing, the baselines, and CPU names as long as real ones.
    const slow = { latencyP50Ms: 123.4, latencyP99Ms: 1234.5, latencyMaxMs: 2345.6 };
    const report: BenchReport = {
      ...memory,
      args: { ...memory.args, transport: 'redis', rate: 500, baseline: 'socket.io', sockets: 'ws' },
      machine: { ...memory.machine, cpu: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz with a very long model name indeed' },
      results: memory.results.map((r) => ({
        ...r,
        broadcast: { ...r.broadcast, ...slow },
        hash: { ...r.hash, ...slow, cpuMicrosPerDelivered: 12345.6 },
        baselines: { 'socket.io-redis-adapter': { ...r.broadcast, cpuMicrosPerDelivered: 98765.4 }, 'ringroute-socket.io': r.hash },
      })),
    };
    const text = formatReport(report);
    expect(formatTables(report)).toHaveLength(4);
    expect(text).toMatch(/redis transport \(500 msg\/s offered\), WebSocket sessions/);
    expect(text).toMatch(/p50 ms/);
    expect(text).toMatch(/rr-sio/);
    expect(text).toMatch(/every system delivered all \d+ expected \(message, user\) pairs/);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    // Nothing is lost to the wrapping: every node count has a row in each table.
    const counts = [1, 2, 16, 64, 1024];
    expect(rowCounts(text)).toEqual([...counts, ...counts, ...counts, ...counts]);
  });

  it('prints the routing, CPU and latency tables and the CPU split on the memory transport', async () => {
    const report = await runSmall({ nodes: [2, 4] });
    const tables = formatTables(report);
    expect(tables).toHaveLength(3);
    expect(tables[0]).toMatch(/visits\/msg/);
    expect(tables[0]).toMatch(/bus B\/msg/);
    expect(tables[1]).toMatch(/CPU µs\/deliv/);
    expect(tables[2]).toMatch(/p99 ms/);
    const text = formatReport(report);
    expect(text).toMatch(/^ringroute bench: memory transport, 300 users, 400 messages/);
    expect(text.replace(/\s+/g, ' ')).toMatch(/CPU µs\/delivered at 4 nodes \(timed round\), routing \/ codec \/ delivery \/ transport \/ sender \/ clients \/ rest: broadcast [\d.]+( \/ [\d.]+){6}; hash [\d.]+( \/ [\d.]+){6}/);
    expect(text).toMatch(/both modes delivered all \d+ expected \(message, user\) pairs, each once/);
    expect(rowCounts(text)).toEqual([2, 4, 2, 4, 2, 4]);
  });

  it('says INCOMPLETE, and why, for a run that ended early, and lists delivery mismatches', async () => {
    const report = await runSmall({ nodes: [2], messages: 50 });
    const early = { ...report, complete: false, incomplete: '4 nodes: lost the connection to Redis at redis://127.0.0.1:6390', correct: false };
    const verdict = formatVerdict(early);
    expect(verdict.replace(/\s+/g, ' ')).toMatch(/^INCOMPLETE: the run ended early \(4 nodes: lost the connection to Redis at redis:\/\/127\.0\.0\.1:6390\)/);
    expect(verdict).not.toMatch(/delivered all/);
    const wrong = formatVerdict({ ...report, correct: false, problems: ['2 nodes, hash: 3 pairs reached their user more than once'] });
    expect(wrong).toBe('DELIVERY MISMATCH:\n  - 2 nodes, hash: 3 pairs reached their user more than once');
  });
});

describe('wrap', () => {
  it('keeps the leading spaces of a list item', () => {
    expect(wrap('  - short item', '    ')).toBe('  - short item');
    const long = wrap(`  - ${'word '.repeat(30).trim()}`, '    ');
    expect(long.startsWith('  - word')).toBe(true);
    for (const line of long.split('\n').slice(1)) expect(line).toMatch(/^ {4}word/);
  });

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
