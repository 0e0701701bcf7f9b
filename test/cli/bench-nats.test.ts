import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import type { BenchReport } from '../../src/cli/bench-routing.js';
import { natsLoadError } from '../../src/cli/nats-client.js';
import { natsTransport } from '../../src/cli/transport-nats.js';
import { NatsServer, freePort, skipWithoutNats } from '../support/nats-server.js';
import { runCli } from './cli-process.js';
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
    // --nats alone picks the transport; from source, so the workers run main.ts through tsx too.
    const args = ['bench', '--nats', server.url, '--nodes', '2,4', '--users', '400', '--messages', '300', '--group-size', '4', '--rate', '0', '--json', json];
    const result = await runCli({ kind: 'source' }, args, { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute bench: nats transport \(unpaced\)/);
    expect(result.stdout).toMatch(/p99 ms/);
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/CPU includes the gateway and every node worker, not the NATS server/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(reportErrors(report)).toEqual([]);
    expect(report.args).toMatchObject({ transport: 'nats', natsUrl: server.url });
    expect(report.problems).toEqual([]);
    expect(report.correct).toBe(true);
    expect(report.results.map((r) => r.nodes)).toEqual([2, 4]);
    for (const r of report.results) {
      for (const f of [r.broadcast, r.hash]) {
        expect(f.delivered).toBe(report.workload.expectedDelivered);
        expect(f.checksum).toBe(report.workload.expectedChecksum);
        expect(f.latencyP50Ms).not.toBeNull();
        expect(f.latencyP50Ms!).toBeLessThanOrEqual(f.latencyP99Ms!);
        expect(f.cpuBreakdownMicros.nodes).toBeGreaterThan(0);
        expect(f.cpuBreakdownMicros.redis).toBeNull();
      }
      expect(r.broadcast.nodeVisitsPerDirectMessage).toBe(r.nodes);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(r.hash.nodeVisits).toBeLessThan(r.broadcast.nodeVisits);
    }
  }, 30_000);

  it('fails at once, saying so, when nothing listens at the URL or a server never answers', async () => {
    const closed = `nats://127.0.0.1:${await freePort()}`;
    await expect(natsTransport({ url: closed, rate: 0 })).rejects.toThrow(`cannot connect to NATS at ${closed}`);
    // Accepts connections and says nothing, as a stalled server would.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      await expect(natsTransport({ url: `nats://127.0.0.1:${port}`, rate: 0, connectTimeoutMs: 300 })).rejects.toThrow(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: timeout/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('natsLoadError', () => {
  const notFound = (message: string): Error => Object.assign(new Error(message), { code: 'ERR_MODULE_NOT_FOUND' });

  it('names the missing NATS package and the install command, as a usage error', () => {
    const error = natsLoadError(notFound("Cannot find package '@nats-io/jetstream' imported from /app/node_modules/ringroute/dist/nats.js"));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('--transport nats needs the @nats-io/jetstream package, which is not installed: run "npm install @nats-io/transport-node @nats-io/jetstream @nats-io/kv"');
  });

  it('says the adapter build is missing when the CLI runs without it, and passes other errors through', () => {
    const error = natsLoadError(notFound("Cannot find module '/tmp/x/nats.js' imported from /tmp/x/cli.js"));
    expect(error).not.toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/could not load the ringroute\/nats adapter beside this CLI/);
    const other = new TypeError('boom');
    expect(natsLoadError(other)).toBe(other);
  });
});
