/**
 * `npm start -- --gateway nginx|haproxy` (examples/proxy-gateway) as a real
 * process in front of a real nginx / HAProxy: for every change (a node
 * joins, a node dies) the sessions the nodes closed or dropped are exactly
 * the users the proxy was observed to move, no message is lost, the output
 * fits the terminal, and the proxy and its temp folder are gone afterwards,
 * also after SIGINT; and the same with `--redis` against a redis-server
 * the test starts (password in the URL), which is left without a key of the
 * run. Skipped with one line when a binary is missing (failing under
 * CI=true).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyScenarioReport } from '../../examples/proxy-gateway/scenario.js';
import { skipWithoutProxy } from '../support/proxies.js';
import { RedisServer, skipWithoutRedis } from '../support/redis-server.js';
import { type MainRun, runMain } from './run-main.js';

/** The verdict of a run: per change closed + dropped == moved per node, nothing lost, output widths. */
function checkReport(run: MainRun, file: string): ProxyScenarioReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as ProxyScenarioReport;
  expect(report.changes.map((c) => c.change)).toEqual(['app-4 joins', 'app-2 dies']);
  for (const change of report.changes) {
    expect(change.moved, change.change).toBeGreaterThan(0);
    expect(change.closed, change.change).toBe(change.moved);
    expect(change.equal, change.change).toBe(true);
    expect(change.mispredicted, change.change).toBe(0);
    // Per node: what it closed or dropped is what the proxy moved away from it.
    for (const node of change.nodes) expect(node.closed + node.dropped, `${change.change} ${node.node}`).toBe(node.movedAway);
  }
  // The join moves keys onto app-4 only; the death moves app-2's keys only, and app-2 closed none itself.
  expect(report.changes[0]!.nodes.filter((n) => n.movedIn > 0).map((n) => n.node)).toEqual(['app-4']);
  const death = report.changes[1]!;
  expect(death.nodes.find((n) => n.node === 'app-2')).toMatchObject({ closed: 0, dropped: death.moved });
  expect(report.messages.sent).toBeGreaterThan(0);
  expect(report.messages.lost).toBe(0);
  expect(report.messages.delivered).toBe(report.messages.sent);
  const lines = run.stdout.trimEnd().split('\n');
  expect(run.stdout).toMatch(/INSECURE LOCAL DEMO/);
  expect(lines.at(-1)).toMatch(/^PASS: /);
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
  // Tables (and everything but the title and verdict) fit 80 columns.
  expect(Math.max(...lines.slice(1, -1).map((l) => l.length))).toBeLessThanOrEqual(80);
  return report;
}

const exampleDirs = (kind: string): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith(`ringroute-example-${kind}-`));

for (const kind of ['nginx', 'haproxy'] as const) {
  describe.skipIf(skipWithoutProxy(`the ${kind} gateway example`, kind))(`npm start -- --gateway ${kind}`, () => {
    it('closes exactly the users the proxy moved on a join and a death, loses nothing, and cleans up', async () => {
      const out = mkdtempSync(join(tmpdir(), 'ringroute-pg-test-'));
      const before = exampleDirs(kind);
      try {
        const run = await runMain(['--gateway', kind, '--users', '300', '--rate', '100', '--json', join(out, 'report.json')], 50_000);
        expect(run.stderr).not.toMatch(/failed/);
        expect(run.code, run.stdout + run.stderr).toBe(0);
        checkReport(run, join(out, 'report.json'));
        expect(exampleDirs(kind)).toEqual(before);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 60_000);

    it('stops the proxy and removes its folder on SIGINT', async () => {
      const before = exampleDirs(kind);
      let sent = false;
      let during: string[] = [];
      const run = await runMain(['--gateway', kind, '--users', '200', '--progress'], 40_000, (text, child) => {
        if (!sent && /connecting \d+ users/.test(text)) {
          sent = true;
          during = exampleDirs(kind).filter((d) => !before.includes(d));
          child.kill('SIGINT');
        }
      });
      expect(sent, `no "connecting" line; code ${run.code}, stderr: ${run.stderr.slice(-1500)}`).toBe(true);
      expect(during.length).toBe(1);
      expect(run.code).toBe(130);
      expect(run.stderr).toMatch(new RegExp(`SIGINT, stopping ${kind}`));
      expect(exampleDirs(kind)).toEqual(before);
    }, 45_000);
  });
}

const noRedis = skipWithoutRedis('the proxy gateway example on Redis', 'binary');
for (const kind of ['nginx', 'haproxy'] as const) {
  describe.skipIf(noRedis || skipWithoutProxy(`the ${kind} gateway example on Redis`, kind))(`npm start -- --gateway ${kind} --redis URL`, () => {
    let server: RedisServer;
    const PASSWORD = 'proxy-gateway-redis-password';
    beforeAll(async () => {
      server = await RedisServer.start(['--requirepass', PASSWORD]);
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('runs the nodes and the proxy on Redis membership: a killed node leaves by ttl, the handoff is exact, and its keys are deleted', async () => {
      const out = mkdtempSync(join(tmpdir(), 'ringroute-pg-test-'));
      const before = exampleDirs(kind);
      try {
        const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
        const run = await runMain(['--gateway', kind, '--users', '300', '--rate', '100', '--redis', url, '--progress', '--json', join(out, 'report.json')], 70_000);
        expect(run.stderr).not.toMatch(/failed/);
        expect(run.code, run.stdout + run.stderr).toBe(0);
        const report = checkReport(run, join(out, 'report.json'));
        // The password never reaches the output.
        expect(report.adapters).toBe(`Redis redis://:***@127.0.0.1:${server.port}`);
        expect(run.stdout + run.stderr).not.toContain(PASSWORD);
        expect(run.stdout).toMatch(/^Ring, membership and messages: Redis redis:\/\/:\*\*\*@/m);
        // The death reached the ring through the membership's ttl (2000 ms), not at once.
        const left = /app-2 left the ring (\d+) ms after it died \(ttl 2000 ms\)/.exec(run.stderr);
        expect(left, run.stderr).not.toBeNull();
        expect(Number(left![1])).toBeGreaterThanOrEqual(1500);
        const redis = new Redis(`redis://:${PASSWORD}@127.0.0.1:${server.port}`, { maxRetriesPerRequest: 1 });
        try {
          expect(await redis.keys('*')).toEqual([]);
        } finally {
          redis.disconnect();
        }
        expect(exampleDirs(kind)).toEqual(before);
        console.log(`[ringroute] --gateway ${kind} --redis: ${run.stdout.trimEnd().split('\n').filter((l) => /joins|dies|^PASS|^FAIL/.test(l) && !/ app-\d /.test(l)).join(' | ')}; ${left![0]}`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 80_000);
  });
}

describe('npm start -- --gateway (options)', () => {
  it('answers a --redis value that is not a Redis URL with one line and exit code 2', async () => {
    const run = await runMain(['--gateway', 'nginx', '--redis', 'http://127.0.0.1:6379'], 30_000);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--redis must be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127.0.0.1:6379"/);
  }, 35_000);

  it('answers a bad gateway with one line and exit code 2', async () => {
    const run = await runMain(['--gateway', 'squid'], 30_000);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--gateway must be nginx or haproxy, got "squid"/);
  }, 35_000);
});
