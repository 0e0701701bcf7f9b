/**
 * HandshakeGate in front of a real `node:http` + `ws` server: handshakes
 * past its slots wait, past its queue are a cheap 503 with Retry-After,
 * never outlive timeoutMs, and open connections stay inside maxConnections.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { HandshakeGate, type HandshakeGateOptions } from '../../src/sessions/index.js';
import { resolveDescriptorBudget, descriptorLimit } from '../../src/sessions/descriptors.js';
import { waitFor } from '../support/wait.js';

describe('HandshakeGate', () => {
  let server: Server;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** A server whose handshakes take `delayMs` (as a token check would) before `ws` completes them; `hang` ones never complete. */
  const start = async (options: HandshakeGateOptions, delayMs: number) => {
    const gate = new HandshakeGate(options);
    const wss = new WebSocketServer({ noServer: true });
    server = createServer();
    gate.watch(server);
    server.on('upgrade', (req, socket, head) => {
      gate.admit(socket, (done) => {
        if (req.url?.includes('hang')) return; // never calls done: the gate's timeout must end it
        setTimeout(() => {
          if (socket.destroyed) return done();
          wss.handleUpgrade(req, socket, head, (ws) => {
            ws.send('welcome');
            done();
          });
        }, delayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { gate, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };

  const open = (url: string) =>
    new Promise<{ ok: boolean; status?: number; retryAfter?: string; ms: number }>((resolve) => {
      const started = Date.now();
      const ws = new WebSocket(url);
      sockets.push(ws);
      ws.once('message', () => resolve({ ok: true, ms: Date.now() - started }));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ ok: false, status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string, ms: Date.now() - started });
        ws.terminate();
      });
      ws.once('error', () => resolve({ ok: false, ms: Date.now() - started }));
    });

  it('works on maxInProgress handshakes at once, queues maxQueued, and answers the rest 503 with Retry-After at once', async () => {
    const { gate, url } = await start({ maxInProgress: 2, maxQueued: 2, queueTimeoutMs: 5000 }, 200);
    const answers = await Promise.all(Array.from({ length: 6 }, () => open(url)));
    const refused = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.ok)).toHaveLength(4);
    expect(refused).toHaveLength(2);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.ms).toBeLessThan(150); // before any handshake work
    }
    const times = answers.filter((a) => a.ok).map((a) => a.ms).sort((x, y) => x - y);
    expect(times[2]).toBeGreaterThanOrEqual(350); // the queued two waited for a slot
    expect(gate.stats()).toMatchObject({ inProgress: 0, queued: 0, admitted: 4, waited: 2, connections: 4, refused: { 'queue-full': 2 } });
  });

  it('ends a handshake that outlives timeoutMs, freeing its slot, and forgets a client that leaves while queued', async () => {
    const { gate, url } = await start({ maxInProgress: 1, maxQueued: 4, timeoutMs: 300 }, 10);
    const hungAt = Date.now();
    const hung = open(`${url}/hang`);
    await waitFor(() => gate.stats().inProgress === 1);
    const leaving = new WebSocket(url);
    leaving.on('error', () => undefined);
    await waitFor(() => gate.stats().queued === 1);
    leaving.terminate();
    await waitFor(() => gate.stats().queued === 0);
    const next = await open(url); // waits for the hung one's timeout
    expect(next.ok).toBe(true);
    expect(Date.now() - hungAt).toBeGreaterThanOrEqual(280); // its slot was free only after the hung one's 300 ms
    expect((await hung).ok).toBe(false);
    expect(gate.stats()).toMatchObject({ timedOut: 1, abandoned: 1, inProgress: 0 });
  });

  it('keeps open connections inside maxConnections, and takes new ones when some close', async () => {
    const { gate, url } = await start({ maxConnections: 3 }, 0);
    const warnings: string[] = [];
    gate.on('error', (e) => warnings.push(e.message));
    for (let i = 0; i < 3; i++) expect((await open(url)).ok).toBe(true);
    expect(warnings).toEqual(['connections near the bound: 3 of 3 (descriptor limit 20000); past it handshakes are answered 503'.replace('20000', String(gate.stats().budget.limit))]);
    const over = await open(url);
    expect(over.status).toBe(503);
    expect(gate.stats().refused.connections).toBe(1);
    sockets[0]!.terminate();
    await waitFor(() => gate.stats().connections === 2);
    expect((await open(url)).ok).toBe(true);
  });

  it('takes its connection bound from the process descriptor limit by default, and checks its options', () => {
    const gate = new HandshakeGate();
    const limit = descriptorLimit();
    if (limit !== null) expect(gate.stats().budget).toMatchObject({ limit, source: 'process', sockets: limit - Math.min(512, Math.floor(limit / 4)) });
    expect(resolveDescriptorBudget({ maxDescriptors: 1000, reservedDescriptors: 100 })).toEqual({ limit: 1000, reserved: 100, sockets: 900, source: 'option' });
    expect(resolveDescriptorBudget({}, () => null)).toMatchObject({ limit: 65_536, source: 'fallback' });
    expect(() => resolveDescriptorBudget({ maxDescriptors: 10, reservedDescriptors: 10 })).toThrow(/reservedDescriptors/);
    expect(() => new HandshakeGate({ maxInProgress: 0 })).toThrow(/maxInProgress/);
    expect(() => new HandshakeGate({ timeoutMs: -1 })).toThrow(/timeoutMs/);
    server = createServer(); // for afterEach
  });
});
