import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, RingError, SessionClient, type SessionClientOptions, fullJitter, type WebSocketConstructor } from '../../src/client/index.js';
import { sleep, waitFor } from '../support/wait.js';

const servers: WebSocketServer[] = [];
const clients: SessionClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) {
    for (const ws of s.clients) ws.terminate();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** A scripted node: `onConnect` runs for each connection with its path. */
async function server(onConnect: (ws: WebSocket, path: string) => void): Promise<{ url: string; paths: string[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const paths: string[] = [];
  wss.on('connection', (ws, req) => {
    paths.push(req.url ?? '');
    onConnect(ws, req.url ?? '');
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, paths };
}

function start(url: string, extra: Record<string, unknown> = {}): SessionClient {
  const client = new SessionClient({ url, WebSocket: WebSocket as unknown as WebSocketConstructor, backoffMs: 10, maxBackoffMs: 50, moveJitterMs: 5, ...extra } as SessionClientOptions);
  client.on('error', () => undefined);
  clients.push(client);
  client.start();
  return client;
}

const welcome = (ws: WebSocket, node: string, v = 1) => ws.send(JSON.stringify({ t: 'welcome', v, node }));

describe('SessionClient', () => {
  it('follows a moved close to the named owner, keeping its path and query', async () => {
    const owner = await server((ws) => welcome(ws, 'b'));
    const first = await server((ws) => ws.close(CloseCode.MOVED, JSON.stringify({ node: 'b', url: owner.url })));
    const client = start(`${first.url}/ws?key=u1&token=t`);
    await waitFor(() => client.node === 'b');
    expect(owner.paths).toEqual(['/ws?key=u1&token=t']);
  });

  it('uses the move frame when the close reason names no owner', async () => {
    const owner = await server((ws) => welcome(ws, 'b'));
    const first = await server((ws) => {
      ws.send(JSON.stringify({ t: 'move', code: CloseCode.WRONG_NODE, node: 'b', url: owner.url }));
      ws.close(CloseCode.WRONG_NODE, 'wrong node');
    });
    const client = start(`${first.url}/ws`);
    const moves: string[] = [];
    client.on('move', (t, code) => moves.push(`${code}:${t.node}`));
    await waitFor(() => client.node === 'b');
    expect(moves).toEqual([`${CloseCode.WRONG_NODE}:b`]);
  });

  it('falls back to its own URL with backoff after maxRedirects redirects in a row', async () => {
    let loops = 0;
    const looping: { url: string } = { url: '' };
    const loop = await server((ws) => {
      loops++;
      ws.close(CloseCode.MOVED, JSON.stringify({ node: 'x', url: looping.url }));
    });
    looping.url = loop.url;
    let accepted = 0;
    const home = await server((ws) => {
      accepted++;
      if (accepted === 1) ws.close(CloseCode.MOVED, JSON.stringify({ node: 'x', url: loop.url }));
      else welcome(ws, 'home');
    });
    const client = start(`${home.url}/ws`, { maxRedirects: 3 });
    await waitFor(() => client.node === 'home');
    expect(loops).toBe(3);
  });

  it('acknowledges every message, duplicates included, and emits each id once', async () => {
    const acks: string[] = [];
    const node = await server((ws) => {
      welcome(ws, 'a');
      ws.on('message', (d) => acks.push(JSON.parse(String(d)).id));
      for (const id of ['1', '2', '1', '3', '2']) ws.send(JSON.stringify({ t: 'msg', id, data: `m${id}` }));
    });
    const client = start(`${node.url}/ws`);
    const got: string[] = [];
    client.on('message', (data, id) => got.push(`${id}:${data}`));
    await waitFor(() => acks.length === 5);
    expect(acks).toEqual(['1', '2', '1', '3', '2']);
    expect(got).toEqual(['1:m1', '2:m2', '3:m3']);
  });

  it('answers pings and reconnects after idleTimeoutMs of silence', async () => {
    const pongs: string[] = [];
    const node = await server((ws) => {
      welcome(ws, 'a');
      ws.on('message', (d) => pongs.push(String(d)));
      ws.send('{"t":"ping"}');
    });
    const client = start(`${node.url}/ws`, { idleTimeoutMs: 150 });
    await waitFor(() => node.paths.length >= 2, { timeoutMs: 3000 });
    expect(pongs[0]).toBe('{"t":"pong"}');
    expect(client.connects).toBeGreaterThanOrEqual(2);
  });

  it('backs off with full jitter when the node is unreachable, and stops on close()', async () => {
    const client = start('ws://127.0.0.1:1/ws', { backoffMs: 20, maxBackoffMs: 40 });
    await sleep(400);
    const connects = client.connects;
    expect(connects).toBeGreaterThan(3);
    client.close();
    await sleep(200);
    expect(client.connects).toBe(connects);
  });

  it('stops with an error when the node speaks another protocol version', async () => {
    const node = await server((ws) => welcome(ws, 'a', 2));
    const errors: Error[] = [];
    const client = new SessionClient({ url: `${node.url}/ws`, WebSocket: WebSocket as unknown as WebSocketConstructor, backoffMs: 10 });
    clients.push(client);
    client.on('error', (e) => errors.push(e));
    client.start();
    await waitFor(() => errors.length === 1);
    await sleep(100);
    expect(errors[0]!.message).toMatch(/protocol 2/);
    expect(node.paths).toHaveLength(1);
    expect(client.node).toBeNull();
  });

  it('throws RingError for bad options', () => {
    expect(() => new SessionClient({ url: 'http://x' })).toThrow(RingError);
    expect(() => new SessionClient({ url: 'ws://x', WebSocket: WebSocket as unknown as WebSocketConstructor, backoffMs: -1 })).toThrow(/backoffMs/);
    expect(() => new SessionClient({ url: 'ws://x', WebSocket: WebSocket as unknown as WebSocketConstructor, dedupeWindow: 0 })).toThrow(/dedupeWindow/);
  });
});

describe('fullJitter', () => {
  it('stays in [0, min(max, base x 2^attempt))', () => {
    expect(fullJitter(0, 100, 1000, () => 0.999)).toBeCloseTo(99.9);
    expect(fullJitter(3, 100, 1000, () => 0.5)).toBe(400);
    expect(fullJitter(10, 100, 1000, () => 0.5)).toBe(500);
    expect(fullJitter(1000, 100, 1000, () => 0)).toBe(0);
  });
});

describe('SessionClient with a url function (two-step connect)', () => {
  it('asks the function before each connect to its home, and backs off when it throws', async () => {
    const node = await server((ws) => welcome(ws, 'a'));
    let calls = 0;
    const client = start('', {
      url: async () => {
        calls++;
        if (calls < 3) throw new Error('route lookup failed');
        return `${node.url}/ws?key=u1`;
      },
    });
    await waitFor(() => client.node === 'a');
    expect(calls).toBe(3);
    expect(node.paths).toEqual(['/ws?key=u1']);
  });
});
