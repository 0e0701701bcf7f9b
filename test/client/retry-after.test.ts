import { type Server, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, SessionClient, type SessionClientOptions, type WebSocketConstructor } from '../../src/client/index.js';
import { welcomeFrame } from '../../src/sessions/protocol.js';
import { waitFor } from '../support/wait.js';

const servers: Server[] = [];
const clients: SessionClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const refusal = (status: string, headers: string[]) => [`HTTP/1.1 ${status}`, ...headers, 'connection: close', 'content-length: 0', '', ''].join('\r\n');

/**
 * A node behind a plain HTTP server: upgrade n gets `answers[n]` as raw
 * HTTP (a refusal), or, past the list, a WebSocket and a welcome frame.
 * Records when each upgrade arrived.
 */
async function node(answers: string[], onAccept: (ws: WebSocket) => void = (ws) => ws.send(welcomeFrame('a'))): Promise<{ url: string; arrivals: number[] }> {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  const server = createServer();
  servers.push(server);
  server.on('close', () => {
    for (const ws of sockets) ws.terminate();
  });
  const arrivals: number[] = [];
  server.on('upgrade', (req, socket: Socket, head) => {
    const answer = answers[arrivals.length];
    arrivals.push(performance.now());
    if (answer !== undefined) {
      socket.end(answer);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      onAccept(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

/** `ws`'s WebSocket, recording every event each instance emits and whether anyone listened. */
const emitted: { socket: number; event: string; listeners: number }[][] = [];
class RecordingWebSocket extends WebSocket {
  readonly #log: { socket: number; event: string; listeners: number }[] = [];
  constructor(url: string) {
    super(url);
    emitted.push(this.#log);
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event === 'string') this.#log.push({ socket: emitted.indexOf(this.#log), event, listeners: this.listenerCount(event) });
    return super.emit(event, ...args);
  }
}

function watched(url: string, extra: Partial<SessionClientOptions> = {}) {
  emitted.length = 0;
  const client = new SessionClient({ url, WebSocket: RecordingWebSocket as unknown as WebSocketConstructor, backoffMs: 10, maxBackoffMs: 5000, moveJitterMs: 5, ...extra });
  const log = { errors: [] as Error[], refused: [] as [number, number | null][], disconnects: [] as number[], welcomes: 0 };
  client.on('error', (e) => log.errors.push(e));
  client.on('refused', (status, ms) => log.refused.push([status, ms]));
  client.on('disconnect', (code) => log.disconnects.push(code));
  client.on('welcome', () => log.welcomes++);
  clients.push(client);
  client.start();
  return { client, log };
}

describe('SessionClient and Retry-After (Node ws)', () => {
  it('waits at least Retry-After plus its jitter after a 503, then connects', async () => {
    const n = await node([refusal('503 Service Unavailable', ['Retry-After: 1'])]);
    // random 0.5: the plain backoff would be 5 ms; Retry-After 1 s + 0.5 x 500 ms = 1250 ms.
    const { client, log } = watched(`${n.url}/ws`, { random: () => 0.5 });
    await waitFor(() => client.node === 'a', { timeoutMs: 4000 });
    expect(n.arrivals).toHaveLength(2);
    const gap = n.arrivals[1]! - n.arrivals[0]!;
    expect(gap).toBeGreaterThanOrEqual(1245);
    expect(gap).toBeLessThan(1250 + 500);
    expect(log.refused).toEqual([[503, 1000]]);
    expect(log.disconnects).toEqual([1006]);
    expect(log.errors).toEqual([]);
    expect(client.stats()).toEqual({ connects: 2, welcomes: 1, refusals: { '503': 1 }, failures: 0, redirects: 0, lastRetryAfterMs: 1000 });
  });

  it('ends a refused socket with exactly one handled error and one close', async () => {
    const n = await node([refusal('503 Service Unavailable', ['Retry-After: 0'])]);
    const { client } = watched(`${n.url}/ws`, { random: () => 0 });
    await waitFor(() => client.node === 'a');
    const first = emitted[0]!.map((e) => e.event);
    expect(first.filter((e) => e === 'unexpected-response')).toHaveLength(1);
    expect(first.filter((e) => e === 'close')).toHaveLength(1);
    expect(first.filter((e) => e === 'error')).toHaveLength(1);
    // The 'error' had a listener (the client's onerror), so nothing went unhandled.
    expect(emitted[0]!.find((e) => e.event === 'error')!.listeners).toBeGreaterThan(0);
    expect(first.indexOf('unexpected-response')).toBeLessThan(first.indexOf('close'));
  });

  it('counts refusals by status, caps Retry-After at maxBackoffMs, and backs off plainly without it', async () => {
    const n = await node([refusal('503 Service Unavailable', []), refusal('429 Too Many Requests', ['Retry-After: 3600']), refusal('503 Service Unavailable', ['Retry-After: 0'])]);
    const { client, log } = watched(`${n.url}/ws`, { maxBackoffMs: 200, random: () => 0 });
    await waitFor(() => client.node === 'a', { timeoutMs: 3000 });
    expect(log.refused).toEqual([
      [503, null],
      [429, 200],
      [503, 0],
    ]);
    expect(n.arrivals[2]! - n.arrivals[1]!).toBeGreaterThanOrEqual(195);
    expect(log.disconnects).toEqual([1006, 1006, 1006]);
    expect(client.stats()).toEqual({ connects: 4, welcomes: 1, refusals: { '503': 2, '429': 1 }, failures: 0, redirects: 0, lastRetryAfterMs: 0 });
  });

  it('gives listeners of refused and disconnect up-to-date stats', async () => {
    const n = await node([refusal('503 Service Unavailable', ['Retry-After: 0'])]);
    const seen: unknown[] = [];
    const { client } = watched(`${n.url}/ws`, { random: () => 0 });
    client.on('refused', () => seen.push(client.stats().refusals));
    client.on('disconnect', () => seen.push(client.stats().failures));
    await waitFor(() => client.node === 'a');
    expect(seen).toEqual([{ '503': 1 }, 0]);
  });

  it('counts redirects followed and attempts that failed', async () => {
    const owner = await node([]);
    const first = await node([], (ws) => ws.close(CloseCode.MOVED, JSON.stringify({ node: 'a', url: owner.url })));
    const { client } = watched(`${first.url}/ws`);
    await waitFor(() => client.node === 'a');
    expect(client.stats()).toEqual({ connects: 2, welcomes: 1, refusals: {}, failures: 0, redirects: 1, lastRetryAfterMs: null });

    const { client: lost, log } = watched('ws://127.0.0.1:1/ws', { backoffMs: 5, maxBackoffMs: 20 });
    await waitFor(() => lost.stats().failures >= 3);
    const stats = lost.stats();
    expect(stats.failures).toBe(log.disconnects.length);
    expect(stats).toMatchObject({ welcomes: 0, refusals: {}, redirects: 0, lastRetryAfterMs: null });
    expect(stats.connects - stats.failures).toBeLessThanOrEqual(1); // the attempt in progress
  });

  it('counts a redirect it no longer follows (past maxRedirects) as a failure', async () => {
    const loop = { url: '' };
    loop.url = (await node([], (ws) => ws.close(CloseCode.MOVED, JSON.stringify({ node: 'x', url: loop.url })))).url;
    let accepted = 0;
    const home = await node([], (ws) => {
      if (++accepted === 1) ws.close(CloseCode.MOVED, JSON.stringify({ node: 'x', url: loop.url }));
      else ws.send(welcomeFrame('a'));
    });
    const { client } = watched(`${home.url}/ws`, { maxRedirects: 2 });
    await waitFor(() => client.node === 'a');
    // home -> loop -> loop (not followed: failure) -> home with backoff -> welcome
    expect(client.stats()).toEqual({ connects: 4, welcomes: 1, refusals: {}, failures: 1, redirects: 2, lastRetryAfterMs: null });
  });
});
