/**
 * The status board, its HTTP handler (authentication, server-sent events,
 * bounds) and the ring drawing's arcs, on real routers and a real HTTP
 * server on 127.0.0.1.
 */
import fc from 'fast-check';
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMembership } from '../../src/adapters/memory/membership.js';
import { MemoryRingStore } from '../../src/adapters/memory/ring-store.js';
import { RingRouter } from '../../src/live/router.js';
import { StatusBoard, type StatusSnapshot, instrument, ringArcs, statusHandler } from '../../src/metrics/index.js';
import { HashRing } from '../../src/ring/hash-ring.js';
import { createXxHash32 } from '../../src/ring/hasher.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'test-admin-token-0123456789';
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function routerOn(nodes: string[]) {
  const store = new MemoryRingStore();
  if (nodes.length > 0) await store.compareAndSet(0, nodes.map((id) => ({ id })));
  const router = await RingRouter.start({ store: store.connect(), resyncMs: 50 });
  closers.push(async () => {
    await router.close();
    await store.close();
  });
  return { store, router };
}

async function serve(handler: (req: never, res: never) => void): Promise<string> {
  const server: Server = createServer(handler as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the event stream and collects its `state` snapshots. */
function stream(url: string, headers: Record<string, string>) {
  const states: StatusSnapshot[] = [];
  let status = 0;
  const req = request(url, { headers }, (res) => {
    status = res.statusCode!;
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (/^event: state$/m.test(frame) && data !== undefined) states.push(JSON.parse(data) as StatusSnapshot);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  closers.push(() => void req.destroy());
  return { states, status: () => status, close: () => req.destroy() };
}

describe('ringArcs', () => {
  it('draws the ring exactly: every key falls in an arc of its owner, and each node\'s arcs add up to its share', async () => {
    const hasher = await createXxHash32();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.string(), { minLength: 20, maxLength: 20 }),
        async (ids, vnodes, keys) => {
          const ring = new HashRing({ hasher, vnodes }, ids.map((id, i) => ({ id, weight: 1 + (i % 3) })));
          const arcs = ringArcs(ring);
          const nodes = ring.nodes();
          const sums = new Map<string, number>();
          let total = 0;
          for (let i = 0; i < arcs.length; i += 3) {
            expect(arcs[i + 1]!).toBeGreaterThan(arcs[i]!);
            if (i > 0) expect(arcs[i]).toBe(arcs[i - 2]); // contiguous
            const id = nodes[arcs[i + 2]!]!.id;
            sums.set(id, (sums.get(id) ?? 0) + arcs[i + 1]! - arcs[i]!);
            total += arcs[i + 1]! - arcs[i]!;
          }
          expect(arcs[0]).toBe(0);
          expect(arcs[arcs.length - 2]).toBe(1);
          expect(total).toBeCloseTo(1, 9);
          for (const [id, share] of ring.ownership()) expect(sums.get(id) ?? 0).toBeCloseTo(share, 9);
          for (const key of keys) {
            const x = hasher.hash(key) / 2 ** 32;
            let k = 0;
            while (!(x <= arcs[k + 1]!)) k += 3;
            // On a boundary the key belongs to the arc that ends at it (a point owns hashes up to itself).
            expect(nodes[arcs[k + 2]!]!.id).toBe(ring.lookup(key).id);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is empty for an empty ring and one whole arc for one node', async () => {
    const hasher = await createXxHash32();
    expect(ringArcs(new HashRing({ hasher }))).toEqual([]);
    expect(ringArcs(new HashRing({ hasher }, [{ id: 'solo' }]))).toEqual([0, 1, 0]);
  });
});

describe('StatusBoard', () => {
  it('logs membership events and ring changes, merges repeats, and keeps at most maxEvents', async () => {
    const { store, router } = await routerOn(['a', 'b']);
    const membership = new MemoryMembership({ ttlMs: 60_000 });
    closers.push(() => membership.close());
    const board = new StatusBoard({ router, membership, maxEvents: 5, pollMs: 20 });
    closers.push(() => board.close());
    const joined = await membership.join({ id: 'c' });
    await store.compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    await waitFor(() => board.snapshot().events.some((e) => e.kind === 'change'), { what: 'the change logged' });
    const events = board.snapshot().events;
    expect(events.find((e) => e.kind === 'join')!.text).toBe('c joined');
    expect(events.find((e) => e.kind === 'change')!.text).toMatch(/^ring version 2 \(\+c\): \d+\.\d% of keys moved; 3 nodes$/);
    await joined.leave();
    await waitFor(() => board.snapshot().events.some((e) => e.kind === 'leave'), { what: 'the leave logged' });
    for (let i = 0; i < 3; i++) board.record('error', 'store unreachable');
    const last = board.snapshot().events.at(-1)!;
    expect(last).toMatchObject({ kind: 'error', text: 'store unreachable', count: 3 });
    for (let i = 0; i < 10; i++) board.record('info', `line ${i}`);
    expect(board.snapshot().events.map((e) => e.text)).toEqual(['line 5', 'line 6', 'line 7', 'line 8', 'line 9']);
  });

  it('says whether every gateway agrees, shows message rates, and marks a failed poll stale', async () => {
    const { router } = await routerOn(['a', 'b']);
    let delivered = 0;
    let gatewayVersion = 1;
    let failing = false;
    const board = new StatusBoard({
      router,
      pollMs: 50,
      pollTimeoutMs: 100,
      nodes: () => {
        if (failing) return new Promise<never>(() => undefined); // hangs: the timeout must answer
        delivered += 10;
        return [{ id: 'a', sessions: 3, held: 1, delivered }];
      },
      gateways: () => [{ id: 'gw-1', version: 1 }, { id: 'gw-2', version: gatewayVersion }],
    });
    closers.push(() => board.close());
    await waitFor(() => (board.snapshot().nodes[0]?.perSecond ?? 0) > 0, { what: 'a rate' });
    let s = board.snapshot();
    expect(s.agree).toBe(true);
    expect(s.nodes[0]).toMatchObject({ id: 'a', sessions: 3, held: 1, onRing: true });
    expect(s.nodes[0]!.perSecond).toBeGreaterThan(50); // 10 per ~50 ms
    expect(s.ring.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(new Set(s.ring.nodes.map((n) => n.color)).size).toBe(2);
    gatewayVersion = 0;
    await waitFor(() => board.snapshot().agree === false, { what: 'disagreement' });
    s = board.snapshot();
    expect(s.gateways.map((g) => g.agrees)).toEqual([true, false]);
    failing = true;
    await waitFor(() => board.snapshot().stale !== null, { what: 'a stale mark' });
    expect(board.snapshot().stale).toMatch(/nodes: no answer within 100 ms/);
    expect(board.snapshot().events.at(-1)!.text).toMatch(/^status poll failed: nodes: no answer within 100 ms$/);
  });

  it('refuses bad options', async () => {
    const { router } = await routerOn(['a']);
    expect(() => new StatusBoard({} as never)).toThrow(/needs \{ router \}/);
    expect(() => new StatusBoard({ router, pollMs: 0 })).toThrow(/pollMs must be a number >= 1/);
    expect(() => new StatusBoard({ router, nodes: 'x' as never })).toThrow(/nodes must be a function/);
  });
});

describe('statusHandler', () => {
  async function setup(options: { maxClients?: number } = {}) {
    const { store, router } = await routerOn(['a', 'b']);
    const board = new StatusBoard({ router, pollMs: 1000 });
    closers.push(() => board.close());
    const registry = new Registry();
    closers.push(instrument({ registry, router }).close);
    const handler = statusHandler({ board, registry, token: TOKEN, ...options });
    closers.push(() => handler.close());
    return { store, router, board, url: await serve(handler) };
  }

  it('needs a token of 16+ characters unless insecure is chosen explicitly', async () => {
    const { router } = await routerOn(['a']);
    const board = new StatusBoard({ router });
    closers.push(() => board.close());
    expect(() => statusHandler({ board })).toThrow(/token of at least 16 characters/);
    expect(() => statusHandler({ board, token: 'short' })).toThrow(/token of at least 16 characters/);
    statusHandler({ board, insecure: true }).close();
  });

  it('answers 401 without the token or with a wrong one, and serves with a bearer token or the cookie', async () => {
    const { url } = await setup();
    for (const path of ['/status', '/status.json', '/metrics', '/status/events']) {
      expect((await get(`${url}${path}`)).status).toBe(401);
      expect((await get(`${url}${path}`, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      expect((await get(`${url}${path}?token=wrong`)).status).toBe(401);
    }
    const metrics = await get(`${url}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^ringroute_ring_nodes 2$/m);
    const page = await get(`${url}/status`, { cookie: `other=1; ringroute_admin=${encodeURIComponent(TOKEN)}` });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    // No external asset: nothing is loaded from another address.
    expect(page.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(page.body).not.toMatch(/innerHTML/);
    const json = JSON.parse((await get(`${url}/status.json`, { authorization: `Bearer ${TOKEN}` })).body) as StatusSnapshot;
    expect(json.ring.nodes.map((n) => n.id)).toEqual(['a', 'b']);
  });

  it('trades a token in the address for an HttpOnly cookie', async () => {
    const { url } = await setup();
    const answer = await get(`${url}/status?token=${encodeURIComponent(TOKEN)}`);
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/status');
    expect(answer.headers['set-cookie']).toEqual([`ringroute_admin=${encodeURIComponent(TOKEN)}; HttpOnly; SameSite=Strict; Path=/`]);
  });

  it('serves /healthz without a token, 404 for unknown paths and 405 for other methods', async () => {
    const { url } = await setup();
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(`${url}/nope`, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await get(`${url}/status`, { authorization: `Bearer ${TOKEN}` }, 'POST')).status).toBe(405);
  });

  it('streams the state at once and again within a second of a ring change', async () => {
    const { url, store } = await setup();
    const live = stream(`${url}/status/events`, { authorization: `Bearer ${TOKEN}` });
    await waitFor(() => live.states.length >= 1, { what: 'the first state' });
    expect(live.states[0]!.ring.version).toBe(1);
    const changedAt = performance.now();
    await store.compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const state = await waitFor(() => live.states.find((s) => s.ring.version === 2), { timeoutMs: 1000, what: 'the new ring streamed' });
    expect(performance.now() - changedAt).toBeLessThan(1000);
    expect(state.ring.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(state.events.at(-1)!.text).toMatch(/\+c/);
  });

  it('refuses live pages beyond maxClients with 503', async () => {
    const { url } = await setup({ maxClients: 2 });
    const a = stream(`${url}/status/events`, { authorization: `Bearer ${TOKEN}` });
    const b = stream(`${url}/status/events`, { authorization: `Bearer ${TOKEN}` });
    await waitFor(() => a.states.length > 0 && b.states.length > 0, { what: 'two live pages' });
    expect((await get(`${url}/status/events`, { authorization: `Bearer ${TOKEN}` })).status).toBe(503);
    a.close();
    await waitFor(async () => {
      const c = stream(`${url}/status/events`, { authorization: `Bearer ${TOKEN}` });
      await waitFor(() => c.status() !== 0, { what: 'an answer' });
      if (c.status() !== 200) c.close();
      return c.status() === 200;
    }, { what: 'a free slot after one page left' });
  });
});

describe('ringArcs on other placements', () => {
  it('draws each placement\'s own ring: the arcs add up to ring.ownership() (Maglev, Envoy ring_hash, nginx)', async () => {
    const hasher = await createXxHash32();
    const { maglevPlacement } = await import('../../src/index.js');
    const { envoyRingHashPlacement } = await import('../../src/proxy/envoy/index.js');
    const { nginxPlacement } = await import('../../src/proxy/nginx/index.js');
    for (const placement of [maglevPlacement({ hasher, tableSize: 1009 }), envoyRingHashPlacement(), nginxPlacement()]) {
      const ring = new HashRing({ placement }, ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((id, i) => ({ id, weight: 1 + i })));
      const arcs = ringArcs(ring);
      const sums = new Map<string, number>();
      for (let i = 0; i < arcs.length; i += 3) {
        const id = ring.nodes()[arcs[i + 2]!]!.id;
        sums.set(id, (sums.get(id) ?? 0) + arcs[i + 1]! - arcs[i]!);
      }
      for (const [id, share] of ring.ownership()) expect(sums.get(id) ?? 0, placement.name).toBeCloseTo(share, 6);
    }
  });
});
