/**
 * Admission control of the gateway against real sockets: a burst waits its
 * turn instead of failing, a full queue or a long wait is a cheap 503 with
 * Retry-After, a frozen owner fills only its share of the slots, a client
 * that leaves (FIN) frees its slot and its hop at once, and the descriptor
 * budget refuses before the process limit.
 */
import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RingRouter } from '../../src/live/router.js';
import type { RingNode } from '../../src/ring/types.js';
import { TestCluster } from '../sessions/support.js';
import { waitFor } from '../support/wait.js';
import { type TestGateway, SECRET, connect, http, sign, startGateway } from './support.js';
import { createJwtAuthenticator } from '../../src/gateway/index.js';

describe('GatewayHandler admission', () => {
  let cluster: TestCluster;
  let gateway: TestGateway;
  let router: RingRouter;
  const servers: TcpServer[] = [];
  const held: Socket[] = [];
  const opened: Array<{ terminate(): void }> = [];
  afterEach(async () => {
    for (const ws of opened.splice(0)) ws.terminate();
    await gateway?.close();
    await cluster?.close();
    for (const s of held.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  /** A member that accepts connections and never answers, as a SIGSTOPped node; `sockets` sees each hop. */
  const frozenMember = async (id: string): Promise<{ node: RingNode; sockets: Socket[] }> => {
    const sockets: Socket[] = [];
    const server = createTcpServer((s) => {
      s.on('error', () => undefined);
      s.resume(); // reads (and drops) the request, so it sees the gateway hang up; never answers
      sockets.push(s);
      held.push(s);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { node: { id, meta: { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` } }, sockets };
  };

  const setUp = async (limits: Record<string, number>, frozen: string[] = [], extra = {}) => {
    cluster = new TestCluster();
    await cluster.startNode('n1');
    const members = await Promise.all(frozen.map((id) => frozenMember(id)));
    const nodes: RingNode[] = [{ id: 'n1', meta: { url: cluster.nodes.get('n1')!.url } }, ...members.map((m) => m.node)];
    await cluster.store.compareAndSet((await cluster.store.read())?.version ?? 0, nodes);
    router = await cluster.router();
    await waitFor(() => router.ring.size === nodes.length);
    gateway = await startGateway(cluster, limits, extra);
    await waitFor(async () => (await http('GET', `${gateway.url}/route?user=probe`, { token: await sign('probe') })).status === 200);
    return Object.fromEntries(frozen.map((id, i) => [id, members[i]!.sockets]));
  };

  /** Users owned by `node`. */
  const usersOf = (node: string, n: number): string[] => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) if (router.lookup(`u${i}`).id === node) out.push(`u${i}`);
    return out;
  };

  const upgrade = async (user: string) => {
    const answer = await connect(`${gateway.ws}/ws?user=${user}&key=${user}&token=${await sign(user)}`);
    if (answer.ws) opened.push(answer.ws);
    return answer;
  };

  /** A raw upgrade request that nobody reads the answer of; resolves with the socket. */
  const rawUpgrade = async (user: string): Promise<Socket> => {
    const token = await sign(user);
    const socket = tcpConnect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    held.push(socket);
    socket.write(`GET /ws?user=${user}&token=${token} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    return socket;
  };

  it('smooths a burst through a few slots: every user connects on the first attempt, most after waiting', async () => {
    await setUp({ maxPendingUpgrades: 2, maxQueued: 200 });
    const users = Array.from({ length: 40 }, (_, i) => `burst${i}`);
    const answers = await Promise.all(users.map((u) => upgrade(u)));
    expect(answers.filter((a) => a.frame?.t === 'welcome')).toHaveLength(40);
    const stats = gateway.handler.stats();
    expect(stats.upgrades.waited).toBeGreaterThan(10);
    expect(stats.upgrades.refused).toEqual({ 'queue-full': 0, 'queue-timeout': 0 });
    expect(stats.upgrades.active).toBe(0);
  });

  it('answers 503 with Retry-After at once when the queue is full, and after queueTimeoutMs when the wait is too long', async () => {
    await setUp({ maxPendingUpgrades: 1, maxQueued: 1, queueTimeoutMs: 400, connectTimeoutMs: 5000 }, ['frozen']);
    const [stuck, waiting, extra] = usersOf('frozen', 3);
    await rawUpgrade(stuck!); // holds the only slot: its owner never answers
    await waitFor(() => gateway.handler.stats().upgrades.active === 1);
    const waited = (async () => {
      const started = Date.now();
      const answer = await http('GET', `${gateway.url}/ws?user=${waiting}&token=${await sign(waiting!)}`, { headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      return { answer, ms: Date.now() - started };
    })();
    await waitFor(() => gateway.handler.stats().upgrades.queued === 1);
    const started = Date.now();
    const full = await connect(`${gateway.ws}/ws?user=${extra}&token=${await sign(extra!)}`);
    expect(full.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(300); // at once, no authentication, no owner
    const { answer, ms } = await waited;
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(answer.body.error).toMatch(/waited too long/);
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(2000);
    expect(gateway.handler.stats().refused).toMatchObject({ 'queue-full': 1, 'queue-timeout': 1 });
  });

  it('a frozen owner fills only its share of the slots: other owners\' users still connect', async () => {
    // 4 members, 8 slots: a node may hold twice its even share, 4.
    await setUp({ maxPendingUpgrades: 8, maxQueued: 100, connectTimeoutMs: 5000 }, ['f1', 'f2', 'f3']);
    const hops = usersOf('f1', 10);
    for (const user of hops) await rawUpgrade(user);
    await waitFor(() => gateway.handler.stats().upgrades.active === 4 && gateway.handler.stats().upgrades.queued === 6);
    const started = Date.now();
    const ok = await upgrade(usersOf('n1', 1)[0]!);
    expect(ok.frame).toMatchObject({ t: 'welcome', node: 'n1' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('frees the slot and the hop to the owner at once when the client gives up (FIN) while its upgrade is in progress or queued', async () => {
    const sockets = await setUp({ maxPendingUpgrades: 1, maxQueued: 10, connectTimeoutMs: 5000 }, ['frozen']);
    const [first, second] = usersOf('frozen', 2);
    const a = await rawUpgrade(first!);
    await waitFor(() => sockets.frozen!.length === 1); // its hop reached the owner, which never answers
    const b = await rawUpgrade(second!);
    await waitFor(() => gateway.handler.stats().upgrades.queued === 1);
    b.end(); // gives up while queued
    await waitFor(() => gateway.handler.stats().upgrades.queued === 0, { timeoutMs: 500 });
    const hopClosed = new Promise<void>((resolve) => sockets.frozen![0]!.once('close', () => resolve()));
    const started = Date.now();
    a.end(); // gives up while its owner is being asked
    await hopClosed;
    expect(Date.now() - started).toBeLessThan(500); // not connectTimeoutMs (5 s)
    await waitFor(() => gateway.handler.stats().upgrades.active === 0, { timeoutMs: 500 });
    expect(gateway.handler.stats()).toMatchObject({ tunnels: 0, abandoned: 2 });
    expect(sockets.frozen).toHaveLength(1); // the queued one never reached the owner
    expect((await upgrade(usersOf('n1', 1)[0]!)).frame).toMatchObject({ t: 'welcome' });
  });

  it('refuses with 503 before its descriptor budget is spent, and counts what it holds', async () => {
    // 520 descriptors, 510 reserved: room for 5 tunnels of 2.
    await setUp({ maxDescriptors: 520, reservedDescriptors: 510, maxTunnels: 100 });
    const users = usersOf('n1', 6);
    for (const user of users.slice(0, 5)) expect((await upgrade(user)).frame).toMatchObject({ t: 'welcome' });
    expect(gateway.handler.stats().descriptors).toMatchObject({ limit: 520, reserved: 510, held: 10 });
    const refused = await connect(`${gateway.ws}/ws?user=${users[5]}&key=${users[5]}&token=${await sign(users[5]!)}`);
    expect(refused.status).toBe(503);
    expect(gateway.handler.stats().refused.descriptors).toBe(1);
    opened.splice(0).forEach((ws) => ws.terminate());
    await waitFor(() => gateway.handler.stats().descriptors.held === 0);
    expect((await upgrade(users[5]!)).frame).toMatchObject({ t: 'welcome' });
  });

  it('derives maxTunnels from the process descriptor limit by default', async () => {
    await setUp({});
    const { descriptors } = gateway.handler.stats();
    expect(descriptors.limit).toBeGreaterThan(0);
    expect(descriptors.reserved).toBeLessThan(descriptors.limit);
  });

  it('bounds GET /route in progress: past its slots and queue, 503 with Retry-After', async () => {
    const verify = await createJwtAuthenticator({ secret: SECRET });
    // A slow identity provider: each check takes 300 ms.
    const authenticate = async (req: Parameters<typeof verify>[0]) => {
      await new Promise((r) => setTimeout(r, 300));
      return verify(req);
    };
    await setUp({ maxPendingRoutes: 1, maxQueued: 1 }, [], { authenticate });
    const tokens = await Promise.all(['r1', 'r2', 'r3'].map((u) => sign(u)));
    const answers = await Promise.all(tokens.map((token, i) => http('GET', `${gateway.url}/route?user=r${i + 1}`, { token })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 503]);
    expect(answers.find((a) => a.status === 503)!.headers['retry-after']).toBeDefined();
    expect(gateway.handler.stats().routes).toMatchObject({ active: 0, queued: 0, refused: { 'queue-full': 1 } });
  });
});
