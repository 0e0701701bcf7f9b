import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/gateway/index.js';
import type { RingNode } from '../../src/ring/types.js';
import { TestCluster } from '../sessions/support.js';
import { waitFor } from '../support/wait.js';
import { type TestGateway, connect, http, sign, startGateway } from './support.js';

describe('RateLimiter', () => {
  it('lets a burst through, then the sustained rate, and bounds the senders it tracks', () => {
    let now = 0;
    const limiter = new RateLimiter(10, 5, 2, () => now);
    for (let i = 0; i < 5; i++) expect(limiter.take('a').verdict).toBe('ok');
    expect(limiter.take('a')).toEqual({ verdict: 'limited', retryAfterSeconds: 1 });
    now += 100; // one token back
    expect(limiter.take('a').verdict).toBe('ok');
    expect(limiter.take('b').verdict).toBe('ok');
    expect(limiter.take('c').verdict).toBe('full'); // a and b are both still refilling
    expect(limiter.peek('a').verdict).toBe('limited'); // peek takes nothing
    expect(limiter.peek('z').verdict).toBe('ok');
    now += 10_000; // both buckets full again: they carry no state and make room
    expect(limiter.peek('a').verdict).toBe('ok');
    expect(limiter.take('c').verdict).toBe('ok');
    expect(limiter.size).toBeLessThanOrEqual(2);
  });
});

describe('GatewayHandler limits', () => {
  let cluster: TestCluster;
  let gateway: TestGateway;
  const servers: TcpServer[] = [];
  afterEach(async () => {
    await gateway?.close();
    await cluster?.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  const setUp = async (limits = {}) => {
    cluster = new TestCluster();
    await cluster.startNode('n1');
    await cluster.setRing(['n1']);
    gateway = await startGateway(cluster, limits);
  };

  it('answers 413 for a body over maxBodyBytes and for more members than maxRecipients', async () => {
    await setUp({ maxBodyBytes: 1024, maxRecipients: 3 });
    const token = await sign('alice');
    const big = await http('POST', `${gateway.url}/send`, { token, body: { to: 'bob', text: 'x'.repeat(2000) } });
    expect(big.status).toBe(413);
    const many = await http('POST', `${gateway.url}/groups/g1/send`, { token, body: { members: ['a', 'b', 'c', 'd'], text: 'hi' } });
    expect(many.status).toBe(413);
    expect(many.body.error).toMatch(/at most 3 members/);
    expect((await http('POST', `${gateway.url}/send`, { token, raw: '{nope' })).status).toBe(400);
    expect((await http('POST', `${gateway.url}/send`, { token, raw: '{}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
  });

  it('answers 429 with Retry-After past the per-sender rate, without slowing other senders', async () => {
    await setUp({ ratePerSecond: 1, burst: 3 });
    const alice = await sign('alice');
    // All at once: the sends to an offline user wait for their ttl, and the bucket must not refill meanwhile.
    const answers = await Promise.all(Array.from({ length: 6 }, () => http('POST', `${gateway.url}/send`, { token: alice, body: { to: 'nobody', text: 'x' } })));
    const statuses = answers.map((a) => a.status).sort();
    const retryAfter = answers.find((a) => a.status === 429)?.headers['retry-after'] as string | undefined;
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await http('POST', `${gateway.url}/send`, { token: await sign('bob'), body: { to: 'nobody', text: 'x' } })).status).toBe(200);
  });

  it('answers 503 with Retry-After when the in-flight deliveries are full, and takes sends again once they finish', async () => {
    await setUp({ maxInFlight: 4 });
    // Offline recipients: their messages wait on the owner until the dispatcher's ttl (2 s).
    const sends = ['u1', 'u2'].map(async (user) => http('POST', `${gateway.url}/groups/g/send`, { token: await sign(user), body: { members: ['x1', 'x2'], text: 'hi' } }));
    await waitFor(() => gateway.handler.stats().inFlight === 4);
    const refused = await http('POST', `${gateway.url}/send`, { token: await sign('u3'), body: { to: 'x3', text: 'hi' } });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    for (const answer of await Promise.all(sends)) expect(answer.body).toMatchObject({ failed: [{ reason: 'expired' }, { reason: 'expired' }] });
    expect(gateway.handler.stats().inFlight).toBe(0);
    expect((await http('POST', `${gateway.url}/send`, { token: await sign('u3'), body: { to: 'x3', text: 'hi' } })).status).toBe(200);
  }, 15_000);

  it('closes a connection whose headers do not arrive within headersTimeoutMs (slowloris)', async () => {
    await setUp({ headersTimeoutMs: 300 });
    const socket = tcpConnect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /send HTTP/1.1\r\nhost: x\r\n'); // and never the rest
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => (text += String(d)));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('never proxies to a member with a bad URL: 502, reported once, and the process keeps serving', async () => {
    await setUp();
    const token = await sign('alice');
    for (const url of ['not a url', 'http://127.0.0.1:1', 'ws://user:pw@127.0.0.1:1', 'javascript:alert(1)']) {
      const nodes: RingNode[] = [{ id: 'evil', meta: { url } }];
      const current = await cluster.store.read();
      await cluster.store.compareAndSet(current!.version, nodes);
      await waitFor(async () => (await http('GET', `${gateway.url}/route?user=alice`, { token })).status === 502);
      expect((await connect(`${gateway.ws}/ws?user=alice&token=${token}`)).status).toBe(502);
      expect((await connect(`${gateway.ws}/ws?user=alice&token=${token}`)).status).toBe(502);
    }
    expect(gateway.errors.filter((e) => e.message.includes('"evil"'))).toHaveLength(4); // once per URL, not per connection
    expect(gateway.handler.stats().refused['bad-member']).toBeGreaterThanOrEqual(8);
  });

  it('answers 502 within connectTimeoutMs when the owner accepts but never answers (frozen), or is down', async () => {
    await setUp({ connectTimeoutMs: 300 });
    const held: Socket[] = [];
    const frozen = createTcpServer((s) => held.push(s)); // accepts, never answers: as a SIGSTOPped node
    servers.push(frozen);
    await new Promise<void>((r) => frozen.listen(0, '127.0.0.1', r));
    const token = await sign('alice');
    const current = await cluster.store.read();
    await cluster.store.compareAndSet(current!.version, [{ id: 'frozen', meta: { url: `ws://127.0.0.1:${(frozen.address() as AddressInfo).port}` } }]);
    await waitFor(async () => (await http('GET', `${gateway.url}/route?user=alice`, { token })).body.node === 'frozen');
    const started = Date.now();
    expect((await connect(`${gateway.ws}/ws?user=alice&token=${token}`)).status).toBe(502);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const s of held) s.destroy();
    frozen.close();
    await new Promise((r) => setTimeout(r, 50));
    expect((await connect(`${gateway.ws}/ws?user=alice&token=${token}`)).status).toBe(502); // refused: nothing listens
    expect(gateway.handler.stats()).toMatchObject({ tunnels: 0 });
    expect(gateway.handler.stats().refused.unreachable).toBe(2);
  });

  it('closes a tunnel silent both ways for idleTimeoutMs, and counts open tunnels', async () => {
    await setUp({ idleTimeoutMs: 400 });
    const alice = await connect(`${gateway.ws}/ws?user=alice&key=alice&token=${await sign('alice')}`);
    expect(alice.frame).toMatchObject({ t: 'welcome' });
    expect(gateway.handler.stats().tunnels).toBe(1);
    const closed = await new Promise<number>((resolve) => alice.ws!.once('close', (code) => resolve(code)));
    expect(closed).toBe(1006); // cut without a close frame: the client reconnects
    await waitFor(() => gateway.handler.stats().tunnels === 0);
  });

  it('refuses upgrades past maxTunnels with 503 and a Retry-After from how fast tunnels close', async () => {
    await setUp({ maxTunnels: 1 });
    const a = await connect(`${gateway.ws}/ws?user=alice&key=alice&token=${await sign('alice')}`);
    expect(a.frame).toMatchObject({ t: 'welcome' });
    const bob = `${gateway.ws}/ws?user=bob&key=bob&token=${await sign('bob')}`;
    // Nothing closes: the wait is long, and grows with the refusals, up to 30 s.
    const first = await connect(bob);
    expect(first).toMatchObject({ status: 503, retryAfter: 10 });
    expect((await connect(bob)).retryAfter).toBe(20);
    expect((await connect(bob)).retryAfter).toBe(30);
    expect((await connect(bob)).retryAfter).toBe(30);
    a.ws!.close();
    await waitFor(() => gateway.handler.stats().tunnels === 0);
    expect((await connect(bob)).frame).toMatchObject({ t: 'welcome' });
  });
});

describe('a client that never reads, through the gateway', () => {
  it('is closed by its node as a slow consumer (4003) instead of pinning memory, and the sender is told', async () => {
    const cluster = new TestCluster();
    const gateway = await (async () => {
      await cluster.startNode('n1', { maxInFlightPerSession: 20, ackTimeoutMs: 30_000 });
      await cluster.setRing(['n1']);
      return startGateway(cluster, { ratePerSecond: 1000, burst: 1000 });
    })();
    try {
      const reader = await connect(`${gateway.ws}/ws?user=sloth&key=sloth&token=${await sign('sloth')}`);
      expect(reader.frame).toMatchObject({ t: 'welcome' });
      // Stop reading at the TCP level: frames pile up in the kernel and on the node, and nothing is acked.
      (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const token = await sign('flooder');
      const sends = Array.from({ length: 30 }, (_, i) => http('POST', `${gateway.url}/send`, { token, body: { to: 'sloth', text: 'x'.repeat(4000), id: `s${i}` } }));
      const node = cluster.nodes.get('n1')!.node;
      await waitFor(() => node.stats().sessions === 0, { timeoutMs: 10_000, what: 'the slow session closed' });
      expect(node.stats().slowConsumers).toBe(1);
      // (The tunnel itself ends when the node's close handshake times out; until then the gateway's pipe
      // holds no more than its stream buffers: it stops reading from the node while the client does not read.)
      // Every send gets an honest answer: nothing was acknowledged, so none is "delivered".
      const answers = await Promise.all(sends);
      for (const a of answers) expect(a.body.delivered).toEqual([]);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(gateway.handler.stats().inFlight).toBe(0);
      reader.ws!.terminate();
    } finally {
      await gateway.close();
      await cluster.close();
    }
  }, 30_000);
});
