import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import { DIST_ENTRY, builtOrSource, bundleCli, runCli, type Entry } from './cli-process.js';
import { openFilesLimit, reportErrors } from './support.js';
import { parseXml } from './svg-tree.js';

const PKG_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SMALL = ['--nodes', '1,2,4', '--users', '200', '--messages', '300', '--group-size', '5', '--rounds', '1', '--seed', '11'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringroute-cli-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ringroute (from source, through tsx)', () => {
  const source: Entry = { kind: 'source' };

  it('runs a small benchmark, prints the table on stdout and nothing on stderr when piped', async () => {
    const json = join(dir, 'report.json');
    const svg = join(dir, 'chart.svg');
    const result = await runCli(source, ['bench', ...SMALL, '--json', json, '--svg', svg]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute bench: memory transport, 200 users, 300 messages/);
    expect(result.stdout).toMatch(/visits\/msg/);
    expect(result.stdout).toMatch(/CPU µs\/deliv/);
    expect(result.stdout).toMatch(/p99 ms/);
    // Three tables (routing work, CPU, latency), a row per node count in each.
    const rows = result.stdout.split('\n').filter((line) => /^\s+\d+\s{2}/.test(line));
    expect(rows.map((row) => Number(row.trim().split(/\s+/)[0]))).toEqual([1, 2, 4, 1, 2, 4, 1, 2, 4]);
    for (const line of result.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(result.stdout).toMatch(/both modes delivered all \d+ expected \(message, user\) pairs/);

    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(reportErrors(report)).toEqual([]);
    expect(report).toMatchObject({ version: 2, complete: true, incomplete: null, correct: true });
    expect(report.args).toMatchObject({ transport: 'memory', sockets: 'memory', baseline: null, json });
    expect(report.results.map((r) => [r.nodes, r.broadcast.nodeVisitsPerDirectMessage, r.hash.nodeVisitsPerDirectMessage])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
      [4, 4, 1],
    ]);
    const chart = parseXml(readFileSync(svg, 'utf8'));
    expect(chart.name).toBe('svg');
  });

  it('prints the bench help and exits 0', async () => {
    const result = await runCli(source, ['bench', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: ringroute bench \[flags\]/);
    expect(result.stderr).toBe('');
  });

  it('prints the help with no command and exits 0', async () => {
    const result = await runCli(source, []);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute: consistent-hash routing for clusters\n\nUsage: ringroute <command> \[flags\]/);
    expect(result.stderr).toBe('');
  });

  it.each([['--version'], ['-v']])('prints the version of package.json for %s', async (flag) => {
    const result = await runCli(source, [flag]);
    expect(result).toEqual({ code: 0, stdout: `${PKG_VERSION}\n`, stderr: '' });
  });

});

describe('ringroute exit codes (dist/cli.js, or the source before a build)', () => {
  const entry = builtOrSource();

  it.each([
    [['bench', '--nodes', 'two'], /--nodes takes comma-separated integers/],
    [['bench', '--bogus'], /unknown flag --bogus/],
    [['bench', '--transport', 'carrier-pigeon'], /--transport must be/],
    [['bench', '--sockets', 'tcp'], /--sockets must be "memory" or "ws", got "tcp"/],
    [['bench', '--baseline', 'ably'], /--baseline must be "socket\.io", got "ably"/],
    [['bench', '--baseline', 'socket.io'], /--baseline socket\.io runs on Redis beside ringroute: give --transport redis/],
    [['bench', '--nats', 'nats://127.0.0.1:1', '--baseline', 'socket.io'], /--baseline socket\.io runs on Redis/],
  ])('exits 2 with a one-line message for %j', async (args, message) => {
    const result = await runCli(entry, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // The message on one line, then where the flags are explained.
    expect(result.stderr).toMatch(/^ringroute: .+\nRun "ringroute bench --help" for the flags\.\n$/);
    expect(result.stderr.split('\n')[0]).toMatch(message);
  });

  it.each([[['--bogus']], [['serve']]])('exits 2 pointing at the commands for %j', async (args) => {
    const result = await runCli(entry, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringroute: .+\nRun "ringroute --help" for the commands\.\n$/);
  });

  it('exits 2 before running when an output file cannot be written', async () => {
    const result = await runCli(entry, ['bench', ...SMALL, '--json', join(dir, 'no/such/dir/report.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write .*report\.json: directory .* does not exist/);
  });

  it('exits 2 with one line when Redis cannot be reached', async () => {
    const result = await runCli(entry, ['bench', '--redis', 'redis://127.0.0.1:1', '--nodes', '2', '--messages', '10']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringroute: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: [^\n]+\n$/);
  });
});

describe('ringroute bench --sockets ws', () => {
  const entry = builtOrSource();

  it('sends everything over real WebSockets: every expected pair delivered once', async () => {
    const json = join(dir, 'ws.json');
    const result = await runCli(entry, ['bench', '--sockets', 'ws', '--nodes', '2', '--users', '200', '--messages', '300', '--group-size', '4', '--rounds', '1', '--json', json]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute bench: memory transport, WebSocket sessions, 200 users/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(reportErrors(report)).toEqual([]);
    expect(report).toMatchObject({ complete: true, correct: true, problems: [] });
    expect(report.args.sockets).toBe('ws');
    const r = report.results[0]!;
    for (const f of [r.broadcast, r.hash]) {
      expect(f.delivered).toBe(report.workload.expectedDelivered);
      expect(f.checksum).toBe(report.workload.expectedChecksum);
      expect(f.duplicates).toBe(0);
      expect(f.notDelivered).toBe(0);
    }
    expect(r.broadcast.nodeVisitsPerMessage).toBe(2);
    expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
    expect(r.hash.wastedVisits).toBe(0);
  });

  const limit = openFilesLimit();
  it.skipIf(limit === null)('refuses, before starting, more sessions than this process may open descriptors for, in one line', async () => {
    // Two descriptors per session, all sessions in one process with the memory transport: over the limit.
    const users = Math.max(20_000, Math.ceil(limit! / 2));
    const json = join(dir, 'refused.json');
    const started = Date.now();
    const result = await runCli(entry, ['bench', '--sockets', 'ws', '--users', String(users), '--nodes', '2', '--json', json]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringroute: --sockets ws needs about \d+ file descriptors [^\n]*\n$/);
    expect(result.stderr).toContain(`(2 per session, ${users} sessions) but this process may open ${limit} ("ulimit -n")`);
    // Nothing ran: no report, and no time spent opening sockets.
    expect(existsSync(json)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('ringroute (bundled as the package build does)', () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await bundleCli();
  }, 60_000);
  afterAll(() => {
    rmSync(join(bundle, '..'), { recursive: true, force: true });
  });

  it('starts with a shebang and runs a small benchmark', async () => {
    expect(readFileSync(bundle, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const result = await runCli({ kind: 'built', file: bundle }, ['bench', ...SMALL, '--quiet'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/both modes delivered all/);
  });

  it('exits 2 with a clear message when ioredis is not installed', async () => {
    // The bundle sits in a temp dir with no node_modules, so ioredis cannot resolve.
    const result = await runCli({ kind: 'built', file: bundle }, ['bench', '--transport', 'redis', '--nodes', '2'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--transport redis needs the ioredis package, which is not installed: run "npm install ioredis"/);
  });
});

describe.skipIf(!existsSync(DIST_ENTRY))('ringroute (dist/cli.js from npm run build)', () => {
  it('exits 2 for invalid arguments, tells its version and runs a small benchmark', async () => {
    const entry: Entry = { kind: 'built', file: DIST_ENTRY };
    expect(await runCli(entry, ['--version'])).toEqual({ code: 0, stdout: `${PKG_VERSION}\n`, stderr: '' });
    const bad = await runCli(entry, ['bench', '--users', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--users must be an integer/);
    const good = await runCli(entry, ['bench', ...SMALL]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/both modes delivered all/);
  });
});

if (!existsSync(DIST_ENTRY)) console.warn('[ringroute] skipping the dist/cli.js tests: run "npm run build" first (the tsup-bundled CLI is tested either way)');
