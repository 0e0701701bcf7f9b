import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import { connectNats, natsLoadError } from '../../src/harness/nats-connect.js';
import { SetupError } from '../../src/harness/setup-error.js';
import { NatsServer, freePort, skipWithoutNats } from '../support/nats-server.js';
import { builtOrSource, runCli } from './cli-process.js';
import { reportErrors } from './support.js';

const SUITE = 'ringroute bench --transport nats';
const skip = skipWithoutNats(SUITE);

describe.skipIf(skip)(SUITE, () => {
  let server: NatsServer;
  let dir: string;
  beforeAll(async () => {
    server = await NatsServer.start();
    dir = mkdtempSync(join(tmpdir(), 'ringroute-cli-nats-'));
  });
  afterAll(async () => {
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a worker process per node on the library NatsTransport: every expected pair delivered once, hash visiting fewer nodes', async () => {
    const json = join(dir, 'report.json');
    // --nats alone picks the transport; paced (the default rate), as users run it.
    const args = ['bench', '--nats', server.url, '--nodes', '2,4', '--users', '400', '--messages', '300', '--group-size', '4', '--rate', '2000', '--json', json];
    const result = await runCli(builtOrSource(), args, { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute bench: nats transport \(2000 msg\/s offered\)/);
    expect(result.stdout).toMatch(/p99 ms/);
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/CPU includes the sender and every node process, not the NATS server/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(reportErrors(report)).toEqual([]);
    expect(report.args).toMatchObject({ transport: 'nats', natsUrl: server.url, rate: 2000 });
    expect(report).toMatchObject({ complete: true, incomplete: null, correct: true, problems: [] });
    expect(report.results.map((r) => r.nodes)).toEqual([2, 4]);
    for (const r of report.results) {
      for (const f of [r.broadcast, r.hash]) {
        expect(f.delivered).toBe(report.workload.expectedDelivered);
        expect(f.checksum).toBe(report.workload.expectedChecksum);
        expect(f.duplicates).toBe(0);
        expect(f.notDelivered).toBe(0);
        expect(f.busBytes).toBeGreaterThan(0);
        expect(f.latencyP50Ms).not.toBeNull();
        expect(f.latencyP50Ms!).toBeLessThanOrEqual(f.latencyP99Ms!);
        expect(f.cpuBreakdownMicros.sender).toBeGreaterThan(0);
        expect(f.cpuBreakdownMicros.nodes).toBeGreaterThan(0);
        // No Redis: no server figures; one process per node: no in-process split.
        expect(f.cpuBreakdownMicros.server).toBeNull();
        expect(f.server).toBeNull();
        expect(f.cpuSplitMicrosPerDelivered).toBeNull();
      }
      expect(r.broadcast.nodeVisitsPerMessage).toBe(r.nodes);
      expect(r.broadcast.nodeVisitsPerDirectMessage).toBe(r.nodes);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(r.hash.wastedVisits).toBe(0);
      expect(r.hash.nodeVisits).toBeLessThan(r.broadcast.nodeVisits);
    }
  }, 30_000);

  it('fails at once, saying so, when nothing listens at the URL or a server never answers', async () => {
    const closed = `nats://127.0.0.1:${await freePort()}`;
    await expect(connectNats(closed)).rejects.toThrow(`cannot connect to NATS at ${closed}`);
    await expect(connectNats(closed)).rejects.toBeInstanceOf(SetupError);
    // Accepts connections and says nothing, as a stalled server would.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      await expect(connectNats(`nats://127.0.0.1:${port}`, 300)).rejects.toThrow(/^cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: /);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('natsLoadError', () => {
  const notFound = (message: string): Error => Object.assign(new Error(message), { code: 'ERR_MODULE_NOT_FOUND' });

  it('names the missing NATS package and the install command, as a setup error (exit code 2)', () => {
    const error = natsLoadError(notFound("Cannot find package '@nats-io/jetstream' imported from /app/node_modules/ringroute/dist/nats.js"));
    expect(error).toBeInstanceOf(SetupError);
    expect(error.message).toBe('--transport nats needs the @nats-io/jetstream package, which is not installed: run "npm install @nats-io/transport-node @nats-io/jetstream @nats-io/kv"');
  });

  it('says the adapter build is missing when the CLI runs without it, and passes other errors through', () => {
    const error = natsLoadError(notFound("Cannot find module '/tmp/x/nats.js' imported from /tmp/x/cli.js"));
    expect(error).not.toBeInstanceOf(SetupError);
    expect(error.message).toMatch(/could not load the ringroute\/nats adapter beside this CLI/);
    const other = new TypeError('boom');
    expect(natsLoadError(other)).toBe(other);
  });
});
