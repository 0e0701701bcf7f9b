/**
 * The descriptor budget against a real process limit: a gateway process
 * started with `ulimit -n 300` either refuses with 503 before the limit
 * (its default budget, read from /proc/self/limits) or, given a budget
 * larger than its real limit, runs into EMFILE: then every failed connect
 * is a 503 with Retry-After, accepts that fail are counted and reported,
 * and the process keeps serving.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { GatewayHandlerStats } from '../../src/gateway/index.js';
import { TestCluster } from '../sessions/support.js';
import { waitFor } from '../support/wait.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/gateway-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIMIT = 300;

interface Child {
  readonly port: number;
  stats(): Promise<{ stats: GatewayHandlerStats; errors: string[] }>;
  readonly process: ChildProcess;
}

async function startGatewayProcess(node: string, limits: Record<string, number>): Promise<Child> {
  const args = JSON.stringify({ node, limits });
  // A real limit, as a container's: the shell lowers it, then becomes node.
  const child = spawn('bash', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" --import tsx "${FIXTURE}" '${args}'`], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | null = null;
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(line);
      } else lines.push(line);
    }
  });
  const next = () => new Promise<string>((resolve) => (lines.length > 0 ? resolve(lines.shift()!) : (waiting = resolve)));
  const { port } = JSON.parse(await next()) as { port: number };
  return {
    port,
    process: child,
    stats: async () => {
      child.stdin!.write('stats\n');
      return JSON.parse(await next());
    },
  };
}

/** Opens `n` WebSockets through the gateway at once; resolves with each one's fate. */
async function storm(port: number, n: number, open: WebSocket[]): Promise<Array<number | 'welcome' | 'error'>> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<number | 'welcome' | 'error'>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?user=u${i}&key=u${i}`);
        open.push(ws);
        ws.once('message', () => resolve('welcome'));
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('error', () => resolve('error'));
      }),
    ),
  );
}

describe('GatewayHandler descriptor budget (a real process limit)', () => {
  let cluster: TestCluster;
  let child: Child | undefined;
  const open: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    child?.process.stdin!.end();
    child?.process.kill('SIGKILL');
    child = undefined;
    await cluster?.close();
  });

  const setUp = async (limits: Record<string, number>) => {
    cluster = new TestCluster();
    const n1 = await cluster.startNode('n1');
    await cluster.setRing(['n1']);
    child = await startGatewayProcess(n1.url, limits);
    return child;
  };

  it('refuses with 503 before the process limit by default: no accept or connect ever fails', async () => {
    const gw = await setUp({});
    const before = await gw.stats();
    expect(before.stats.descriptors).toMatchObject({ limit: LIMIT, reserved: 75, exhausted: 0 });
    const fates = await storm(gw.port, 200, open);
    const welcomed = fates.filter((f) => f === 'welcome').length;
    const refused = fates.filter((f) => f === 503).length;
    const { stats } = await gw.stats();
    // (300 - 75) x 0.45 = 101 tunnels at most; the server closes connections past 225 - 101 = 124 at accept.
    expect(welcomed).toBeGreaterThanOrEqual(80);
    expect(welcomed).toBeLessThanOrEqual(101);
    expect(stats.descriptors.exhausted).toBe(0); // never at the limit
    expect(refused + stats.descriptors.dropped).toBeGreaterThanOrEqual(200 - welcomed);
    expect(stats.refused.overloaded + stats.refused.descriptors).toBe(refused);
  }, 30_000);

  it('given a budget over its real limit, answers failed connects 503, reports EMFILE, and keeps serving', async () => {
    const gw = await setUp({ maxDescriptors: 10_000 });
    const fates = await storm(gw.port, 250, open);
    const welcomed = fates.filter((f) => f === 'welcome').length;
    const { stats, errors } = await waitFor(async () => {
      const s = await gw.stats();
      return s.stats.descriptors.exhausted > 0 ? s : null;
    });
    expect(welcomed).toBeLessThan(150); // the real limit stopped it
    expect(errors.some((e) => /out of descriptors \(EMFILE\)/.test(e))).toBe(true);
    expect(fates.filter((f) => f === 502)).toHaveLength(0); // never blamed on the owner
    expect(stats.refused.descriptors + stats.descriptors.exhausted).toBeGreaterThan(0);
    // Room again: the same process serves new users.
    for (const ws of open.splice(0)) ws.terminate();
    await waitFor(async () => (await gw.stats()).stats.tunnels === 0, { timeoutMs: 10_000 });
    expect(await storm(gw.port, 20, open)).toEqual(Array(20).fill('welcome'));
  }, 30_000);
});
