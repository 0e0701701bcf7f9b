/**
 * The cluster example's command line (`npm start -- ...`) and its printed
 * report: bad options answer with one line and exit code 2, the report fits
 * an 80-column terminal and ends with the verdict.
 */
import { describe, expect, it } from 'vitest';
import type { KindFigures, Report } from '../../examples/cluster/report.js';
import { MAX_WIDTH, formatReport, formatVerdict } from '../../examples/cluster/report.js';
import type { PartFigures, ScaleFigures } from '../../examples/cluster/scale.js';
import { runMain } from './run-main.js';

describe('npm start -- (examples/cluster/main.ts)', () => {
  it.each([
    [['--bogus'], /unknown option --bogus/],
    [['-x'], /unknown option -x/],
    [['--users'], /option --users needs a value/],
    [['--users', 'many'], /--users must be an integer in \[2, 100000\], got "many"/],
    [['--users', '1e3'], /--users must be an integer/],
    [['--nodes', '1'], /--nodes must be an integer in \[2, 32\]/],
    [['--verbose=yes'], /option --verbose takes no value/],
    [['extra'], /unexpected argument extra/],
    [['--via', 'pigeon'], /--via must be proxy, route or mixed/],
    [['--redis', 'http://127.0.0.1'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [['--redis', 'redis://a:1,rediss://b:2'], /--redis mixes redis:\/\/ and rediss:\/\/ URLs/],
    [['--nats', 'http://127.0.0.1:1'], /--nats must be a nats:\/\/ URL/],
    [['--nats', 'nats://127.0.0.1:1', '--redis', 'redis://127.0.0.1:1'], /--redis and --nats exclude each other/],
    [['--nats', 'nats://127.0.0.1:1', '--outage-ms', '14000'], /--outage-ms works with --redis only/],
    [['--outage-ms', '14000'], /--outage-ms needs --redis/],
    [['--redis', 'redis://127.0.0.1:1', '--outage-ms', '10'], /--outage-ms must be an integer in \[1000, 60000\]/],
    [['--json', '/no/such/dir/report.json'], /cannot write \/no\/such\/dir\/report\.json: directory \/no\/such\/dir does not exist/],
  ])('answers %j with one line on stderr and exit code 2', async (args, message) => {
    const result = await runMain(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^cluster example: [^\n]+ \("npm start -- --help" lists the options\)\n$/);
    expect(result.stderr).toMatch(message);
  });

  it('refuses, in memory mode, more users than one process\'s descriptors hold, naming the limit and --redis', async () => {
    // 100,000 users at 2 descriptors each (mixed) cannot fit under any usual ulimit -n; refused before anything starts.
    const result = await runMain(['--users', '100000']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^cluster example: --users 100000 does not fit in memory mode: [^\n]*limited to \d+ descriptors \(ulimit -n\)[^\n]*--redis URL[^\n]*\n$/);
  });

  it('refuses, on Redis, a node count whose share of the users would not fit a node', async () => {
    const result = await runMain(['--redis', 'redis://127.0.0.1:1', '--users', '100000', '--nodes', '2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^cluster example: --users 100000 over --nodes 2 gives each node 50000 sessions, [^\n]*use at least --nodes \d+ [^\n]*\n$/);
  });

  it('prints the help and exits 0', async () => {
    const result = await runMain(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm start -- \[options\]/);
    for (const line of result.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
  });
});

/** A report with the figures of a real memory run and long ids, for the layout. */
function sampleReport(overrides: { lost?: number; agree?: boolean; unknown?: number; failedButReceived?: number; outage?: boolean } = {}): Report {
  const kind = (messages: number, recipients: number, visits: number, owners: number): KindFigures => ({
    messages, sent: messages * recipients, delivered: messages * recipients - (overrides.lost ?? 0), failed: 0, unknown: 0, lost: overrides.lost ?? 0,
    falselyDelivered: 0, failedButReceived: 0, duplicates: 12345, nodeVisitsPerMessage: visits, distinctOwnersPerMessage: owners,
    latencyP50Ms: 1234.5, latencyP99Ms: 12345.6, steadyLatencyP50Ms: 1234.5, steadyLatencyP99Ms: 12345.6,
  });
  const gateways = ['gw-1', 'gw-2', 'gw-3'].map((id) => ({ id, version: 123456, checksum: 'deadbeefcafe0123', nodes: ['node-1', 'node-2'] }));
  return {
    adapters: 'redis',
    config: { nodes: 12, gateways: 3, users: 100000 },
    durationMs: 123456,
    modes: {
      broadcast: { oneToOne: kind(102000, 1, 12, 1), group: kind(10200, 7, 12, 2.878) },
      hash: { oneToOne: kind(162500, 1, 1, 1), group: kind(16200, 7, 2.813, 2.813) },
    },
    strategies: {
      'reconnect-all': { fromNodes: 12, toNodes: 13, sessionsMoved: 100000, sessionsTotal: 100000, share: 1, expectedShare: 0.077, sessionsOnNewNode: 7700, handoverMs: 123456, closesMs: 80000, closesPerSecond: 1250, slowestClosesPerSecond: 400 },
      selective: { fromNodes: 12, toNodes: 13, sessionsMoved: 7700, sessionsTotal: 100000, share: 0.077, expectedShare: 0.077, sessionsOnNewNode: 7700, handoverMs: 6160, closesMs: 5000, closesPerSecond: 1250, slowestClosesPerSecond: 1250 },
    },
    failover: { node: 'node-2', usersAffected: 8333, ringUpdatedMs: 1884, failoverMs: 3871 },
    gateways: ['start', 'node-13 joined (reconnect-all)', 'node-13 left', 'node-13 joined (selective)', 'node-2 killed'].map((after) => ({ after, gateways, agree: overrides.agree ?? true })),
    totals: { sent: 999999, delivered: 999999 - (overrides.unknown ?? 0), failed: 0, unknown: overrides.unknown ?? 0, lost: overrides.lost ?? 0, failedButReceived: overrides.failedButReceived ?? 0, duplicates: 12345, misrouted: 0, skipped: 3 },
    failureReasons: { 'user did not reconnect within the grace period': 12, 'node unreachable': 3 },
    scale: sampleScale(),
    ...(overrides.outage === true
      ? {
          outage: {
            label: 'Redis SIGSTOP', ms: 14000, sessionsMoved: 0, fences: 3, fencedCloses: 0, recoveredMs: 1234,
            outcomes: { messages: 123456, sent: 999999, delivered: 999000, failed: 0, unknown: 999, lost: 0, falselyDelivered: 0, failedButReceived: 0, duplicates: 0 },
          },
        }
      : {}),
  };
}

/** Scale figures of a 100,000-user Redis run: 7 gateways, 12 nodes, 7 user processes. */
function sampleScale(): ScaleFigures {
  const part = (name: string, kind: PartFigures['kind'], pid: number): PartFigures => ({ part: name, kind, pid, cpuSeconds: 1234.5, rssMiB: 12345, peakRssMiB: 12345, peakDescriptors: 19999 });
  return {
    connect: { users: 100000, ratePerSecond: 1000, budgetMs: 230000, ms: 123456, perSecond: 810, peakPerSecond: 1234, attempts: 123456, attemptsPerUser: 1.235, attemptsPerUserWholeRun: 2.5 },
    refusals: {
      gateways: { 'queue-full': 1234, 'queue-timeout': 56, descriptors: 7 },
      nodes: { '503 queue-full': 890, 'accept failed (descriptors)': 3, 401: 4, 403: 1 },
      clients: { 503: 2124 },
      clientFailures: 12,
    },
    parts: [
      part('scenario', 'scenario', 1000),
      ...Array.from({ length: 7 }, (_, i) => part(`gw-${i + 1}`, 'gateway', 2000 + i)),
      ...Array.from({ length: 13 }, (_, i) => part(`node-${i + 1}`, 'node', 3000 + i)),
      ...Array.from({ length: 7 }, (_, i) => part(`users-${i + 1}`, 'users', 4000 + i)),
    ],
    memoryPerSession: { bytes: 12345, heapBytes: 6789, sessions: 100000, where: 'node processes' },
    gatewayCpuPer1000Connects: { seconds: 0.321, where: 'gateway processes' },
  };
}

describe('the cluster report', () => {
  it('shows connects per second, attempts per user, refusals by kind and every process, within 80 columns', () => {
    const report = sampleReport();
    const lines = formatReport(report).split('\n');
    for (const line of lines.slice(0, -1)) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    const text = lines.join(' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/connect: 100000 users in 123\.5 s \(allowed 230 s\), started at 1000\/s: 810 connected\/s, peak 1234\/s; attempts per user 1\.235/);
    expect(text).toMatch(/refused: gateways queue-full 1234, queue-timeout 56, descriptors 7; nodes .*503 queue-full 890, accept failed \(descriptors\) 3; clients saw 503 2124, and 12 failed attempts/);
    expect(text).toMatch(/memory per session: 12\.1 KiB resident, 6\.6 KiB heap \(100000 sessions, node processes\)/);
    expect(text).toMatch(/gateway CPU per 1,000 users connected: 0\.321 s/);
    for (const name of ['scenario', 'gw-7', 'node-13', 'users-7']) expect(text).toMatch(new RegExp(` ${name} \\d+ 1234\\.5 12345 12345 19999`));
    // The JSON report carries the same figures.
    const json = JSON.parse(JSON.stringify(report)) as Report;
    expect(json.scale.connect.attemptsPerUser).toBe(1.235);
    expect(json.scale.parts).toHaveLength(28);
  });


  it('fits every line in 80 columns (the verdict in 100), even with large figures and long ids', () => {
    const lines = formatReport(sampleReport()).split('\n');
    for (const line of lines.slice(0, -1)) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(100);
    const text = lines.join('\n');
    expect(text).toMatch(/visits/);
    expect(text).toMatch(/steady p99/);
    expect(text).toMatch(/\n {2}start: gw-1 v123456 deadbeefcafe0123, gw-2 /);
    expect(text).toMatch(/\n {4}\S/); // wrapped lines are indented
  });

  it('ends with a one-line verdict: visits per message, sessions moved, lost', () => {
    const text = formatReport(sampleReport());
    const last = text.split('\n').at(-1)!;
    expect(last).toBe(formatVerdict(sampleReport()));
    // Weighted by messages: hash (162500 x 1 + 16200 x 2.813) / 178700 = 1.164.
    expect(last).toBe('verdict: ok: visits/msg 1.2 hash vs 12.0 broadcast; moved 8% selective vs 100% reconnect-all; lost 0');
  });

  it('says FAILED when a message was lost or the gateways disagreed', () => {
    expect(formatVerdict(sampleReport({ lost: 2 }))).toMatch(/^verdict: FAILED: .*lost 2$/);
    expect(formatVerdict(sampleReport({ agree: false }))).toMatch(/^verdict: FAILED: /);
  });

  it('counts "unknown" as an honest answer, but a sender told "failed" for a received message fails the run', () => {
    const unknown = sampleReport({ unknown: 5 });
    expect(formatVerdict(unknown)).toMatch(/^verdict: ok: /);
    expect(formatReport(unknown).replace(/\s+/g, ' ')).toMatch(/= delivered 999994 \+ failed 0 \+ unknown 5;/);
    expect(formatReport(unknown)).toMatch(/\nunknown: not received, and the sender was told it may have been/);
    const misinformed = sampleReport({ failedButReceived: 3 });
    expect(formatReport(misinformed).replace(/\s+/g, ' ')).toMatch(/told failed but received 3;/);
    expect(formatVerdict(misinformed)).toMatch(/^verdict: FAILED: /);
  });

  it('reports a staged outage within 80 columns, and says FAILED when it moved sessions', () => {
    const report = sampleReport({ outage: true });
    const lines = formatReport(report).split('\n');
    for (const line of lines.slice(0, -1)) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    expect(lines.join(' ').replace(/\s+/g, ' ')).toMatch(/outage: Redis SIGSTOP for 14\.0 s .* unknown 999, lost 0, told failed but received 0; sessions moved 0/);
    expect(formatVerdict(report)).toMatch(/^verdict: ok: /);
    expect(formatVerdict({ ...report, outage: { ...report.outage!, sessionsMoved: 7 } })).toMatch(/^verdict: FAILED: /);
    expect(formatVerdict({ ...report, outage: { ...report.outage!, fencedCloses: 2 } })).toMatch(/^verdict: FAILED: /);
  });

  it('lists every attack within 80 columns, and says FAILED when one got through or /healthz was slow', () => {
    const attack = (name: string, refused: boolean) => ({ name, tried: `a long description of what ${name} tried against the cluster`, answer: '2928 x 429, 72 accepted (at most 101 allowed) and waiting for their ttl', refused, healthzMaxMs: 12.5 });
    const healthz = { samples: 753, failures: 0, p50Ms: 0.8, p99Ms: 32, maxMs: 67.8 };
    const baseline = { samples: 120, failures: 0, p50Ms: 0.7, p99Ms: 20, maxMs: 30 };
    const ok = { ...sampleReport(), attacks: { results: [attack('ws-no-token', true), attack('flood-offline', true)], healthz, baseline, healthzLimitMs: 100, durationMs: 5500 } };
    const lines = formatReport(ok).split('\n');
    for (const line of lines.slice(0, -1)) expect(line.length, line).toBeLessThanOrEqual(MAX_WIDTH);
    expect(lines.join('\n')).toMatch(/refused {2}ws-no-token: /);
    expect(lines.join('\n')).toMatch(/attacks: 2\/2 refused, \/healthz p99 32 ms: ok/);
    expect(formatVerdict(ok)).toMatch(/^verdict: ok: /);
    const through = { ...ok, attacks: { ...ok.attacks, results: [attack('ws-no-token', false)] } };
    expect(formatReport(through)).toMatch(/NOT REFUSED {2}ws-no-token/);
    expect(formatVerdict(through)).toMatch(/^verdict: FAILED: /);
    expect(formatVerdict({ ...ok, attacks: { ...ok.attacks, healthz: { ...healthz, p99Ms: 150 } } })).toMatch(/^verdict: FAILED: /);
    // On a machine already slow before the attacks, the limit is twice its p99 then: 150 ms passes under a 90 ms baseline.
    const slow = { ...ok, attacks: { ...ok.attacks, healthz: { ...healthz, p99Ms: 150 }, baseline: { ...baseline, p99Ms: 90 }, healthzLimitMs: 180 } };
    expect(formatVerdict(slow)).toMatch(/^verdict: ok: /);
    expect(formatReport(slow).replace(/\s+/g, ' ')).toMatch(/p99 150 ms \(limit 180: 100, or twice the p99 of 90 ms in the 3 s before the attacks\)/);
  });
});
