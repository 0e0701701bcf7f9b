import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_ENTRY, bundleCli, runCli, type Entry } from './cli-process.js';
import { reportErrors } from './support.js';
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
    // Two tables (routing work, CPU), a row per node count in each.
    const rows = result.stdout.split('\n').filter((line) => /^\s+\d+\s{2}/.test(line));
    expect(rows.map((row) => Number(row.trim().split(/\s+/)[0]))).toEqual([1, 2, 4, 1, 2, 4]);
    for (const line of result.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(result.stdout).toMatch(/both modes delivered all \d+ expected \(message, user\) pairs/);

    const report = JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ nodes: number; broadcast: { nodeVisitsPerDirectMessage: number }; hash: { nodeVisitsPerDirectMessage: number } }> };
    expect(reportErrors(report)).toEqual([]);
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

  it.each([
    [['bench', '--nodes', 'two']],
    [['bench', '--bogus']],
    [['bench', '--transport', 'carrier-pigeon']],
  ])('exits 2 with a message for %j', async (args) => {
    const result = await runCli(source, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringroute: .+\nRun "ringroute bench --help" for the flags\.\n$/);
  });

  it.each([[['--bogus']], [['serve']]])('exits 2 pointing at the commands for %j', async (args) => {
    const result = await runCli(source, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringroute: .+\nRun "ringroute --help" for the commands\.\n$/);
  });

  it('exits 2 before running when an output file cannot be written', async () => {
    const result = await runCli(source, ['bench', ...SMALL, '--json', join(dir, 'no/such/dir/report.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write .*report\.json: directory .* does not exist/);
  });

  it('exits 1 with a clear message when Redis cannot be reached', async () => {
    const result = await runCli(source, ['bench', '--redis', 'redis://127.0.0.1:1', '--nodes', '2', '--messages', '10']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ringroute: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: /);
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
