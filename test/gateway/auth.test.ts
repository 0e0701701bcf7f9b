import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayHandler, createJwtAuthenticator } from '../../src/gateway/index.js';
import { TestCluster } from '../sessions/support.js';
import { waitFor } from '../support/wait.js';
import { type TestGateway, SECRET, connect, http, sign, startGateway } from './support.js';

const fakeReq = (headers: Record<string, string>, url = '/'): IncomingMessage => ({ headers, url }) as unknown as IncomingMessage;

describe('createJwtAuthenticator', () => {
  it('accepts an HS256 token and resolves to its sub', async () => {
    const auth = await createJwtAuthenticator({ secret: SECRET });
    expect(await auth(fakeReq({ authorization: `Bearer ${await sign('alice')}` }))).toBe('alice');
    expect(await auth.verify(await sign('bob'))).toBe('bob');
  });

  it('refuses expired, unsigned, wrongly signed and exp-less tokens, and tokens without sub', async () => {
    const auth = await createJwtAuthenticator({ secret: SECRET });
    expect(await auth.verify(await sign('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 }))).toBeNull();
    expect(await auth.verify(await sign('alice', { secret: 'another-secret-of-at-least-32-bytes!!' }))).toBeNull();
    expect(await auth.verify(await sign('alice', { noExp: true }))).toBeNull();
    expect(await auth.verify(await sign(undefined))).toBeNull();
    const [h, p] = (await sign('alice')).split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect(await auth.verify(none)).toBeNull();
    expect(await auth.verify(`${h}.${Buffer.from('{"sub":"root","exp":9999999999}').toString('base64url')}.x`)).toBeNull();
    expect(await auth.verify('x'.repeat(5000))).toBeNull();
    expect(await auth(fakeReq({}))).toBeNull();
    expect(await auth(fakeReq({ authorization: 'Basic abc' }))).toBeNull();
  });

  it('takes ?token= only on WebSocket upgrades, never on plain requests', async () => {
    const auth = await createJwtAuthenticator({ secret: SECRET });
    const token = await sign('alice');
    expect(await auth(fakeReq({ upgrade: 'websocket' }, `/ws?user=alice&token=${token}`))).toBe('alice');
    expect(await auth(fakeReq({}, `/send?token=${token}`))).toBeNull();
  });

  it('verifies EdDSA tokens with a public key and refuses HS256 tokens there (no algorithm confusion)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const auth = await createJwtAuthenticator({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const good = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('carol').setExpirationTime('1m').sign(privateKey);
    expect(await auth.verify(good)).toBe('carol');
    expect(await auth.verify(await sign('carol'))).toBeNull();
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(await auth.verify(await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('carol').setExpirationTime('1m').sign(other))).toBeNull();
  });

  it('remembers a valid token until its exp only, and never serves a tampered one from memory', async () => {
    let now = Date.now();
    const auth = await createJwtAuthenticator({ secret: SECRET, now: () => now, clockToleranceSec: 0 });
    const token = await sign('alice', { expiresIn: Math.floor(now / 1000) + 30 });
    expect(await auth.verify(token)).toBe('alice');
    expect(await auth.verify(token)).toBe('alice'); // from memory
    const [h, , sig] = token.split('.');
    expect(await auth.verify(`${h}.${Buffer.from('{"sub":"root","exp":9999999999}').toString('base64url')}.${sig}`)).toBeNull();
    now += 31_000; // past exp: forgotten, and refused by the signature check's own clock
    expect(await auth.verify(token)).toBeNull();
    const bounded = await createJwtAuthenticator({ secret: SECRET, cacheSize: 2 });
    for (const user of ['a', 'b', 'c', 'a']) expect(await bounded.verify(await sign(user))).toBe(user);
    await expect(createJwtAuthenticator({ secret: SECRET, cacheSize: -1 })).rejects.toEqual(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('refuses bad options with INVALID_OPTION', async () => {
    const invalid = expect.objectContaining({ code: 'INVALID_OPTION' });
    await expect(createJwtAuthenticator({ secret: 'short' })).rejects.toEqual(invalid);
    await expect(createJwtAuthenticator({})).rejects.toEqual(invalid);
    await expect(createJwtAuthenticator({ secret: SECRET, publicKey: 'x' })).rejects.toEqual(invalid);
    await expect(createJwtAuthenticator({ publicKey: 'not a pem' })).rejects.toEqual(invalid);
    await expect(createJwtAuthenticator({ secret: SECRET, clockToleranceSec: -1 })).rejects.toEqual(invalid);
  });
});

describe('GatewayHandler authentication', () => {
  let cluster: TestCluster;
  let gateway: TestGateway;
  afterEach(async () => {
    await gateway?.close();
    await cluster?.close();
  });

  const setUp = async () => {
    cluster = new TestCluster();
    await cluster.startNode('n1');
    await cluster.startNode('n2');
    await cluster.setRing(['n1', 'n2']);
    gateway = await startGateway(cluster);
  };

  it('refuses to start without authenticate unless insecure: true is passed', async () => {
    cluster = new TestCluster();
    const router = await cluster.router();
    const dispatcher = await cluster.dispatcher();
    expect(() => new GatewayHandler({ router, dispatcher })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('authenticate') }));
    expect(() => new GatewayHandler({ router, dispatcher, insecure: 'yes' as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new GatewayHandler({ router, dispatcher, insecure: true, authenticate: () => 'a' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new GatewayHandler({ router, dispatcher, insecure: true })).not.toThrow();
  });

  it('refuses upgrades without a token (401), with a token for someone else (403), expired or forged (401)', async () => {
    await setUp();
    const url = (user: string, token?: string) => `${gateway.ws}/ws?user=${user}&key=${user}${token ? `&token=${token}` : ''}`;
    expect((await connect(url('bob'))).status).toBe(401);
    expect((await connect(url('bob', await sign('mallory')))).status).toBe(403);
    expect((await connect(url('bob', await sign('bob', { expiresIn: Math.floor(Date.now() / 1000) - 60 })))).status).toBe(401);
    expect((await connect(url('bob', await sign('bob', { secret: 'guessed-secret-guessed-secret-guessed!' })))).status).toBe(401);
    expect((await connect(url('bob'), { authorization: `Bearer ${await sign('mallory')}` })).status).toBe(403);
    const ok = await connect(url('bob', await sign('bob')));
    expect(ok.frame).toMatchObject({ t: 'welcome' });
    ok.ws?.close();
    expect(gateway.handler.stats().refused).toMatchObject({ unauthenticated: 3, forbidden: 2 });
  });

  it('takes the sender from the token: no token 401, a forged from 403, and recipients see the token sub', async () => {
    await setUp();
    const bob = await connect(`${gateway.ws}/ws?user=bob&key=bob&token=${await sign('bob')}`);
    const frames: Array<Record<string, unknown>> = [];
    bob.ws!.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      frames.push(frame);
      if (frame.t === 'msg') bob.ws!.send(JSON.stringify({ t: 'ack', id: frame.id }));
    });
    expect((await http('POST', `${gateway.url}/send`, { body: { to: 'bob', text: 'hi' } })).status).toBe(401);
    const mallory = await sign('mallory');
    expect((await http('POST', `${gateway.url}/send`, { token: mallory, body: { from: 'alice', to: 'bob', text: 'hi' } })).status).toBe(403);
    const sent = await http('POST', `${gateway.url}/send`, { token: mallory, body: { to: 'bob', text: 'hi', id: 'm1' } });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ id: 'mallory/m1', delivered: ['bob'] });
    const msgs = frames.filter((f) => f.t === 'msg');
    expect(msgs).toHaveLength(1);
    expect(JSON.parse(msgs[0]!.data as string)).toEqual({ kind: 'oneToOne', from: 'mallory', text: 'hi' });
    bob.ws!.close();
  });

  it('keeps message ids per sender: another sender reusing a pending id does not drop either message', async () => {
    await setUp();
    const bob = await connect(`${gateway.ws}/ws?user=bob&key=bob&token=${await sign('bob')}`);
    const got: string[] = [];
    bob.ws!.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { t: string; id: string; data: string };
      if (frame.t !== 'msg') return;
      got.push(JSON.parse(frame.data).from as string);
      // bob acks only after both are in: the first is still pending when the second arrives
      if (got.length === 2) for (const id of ['alice/same', 'mallory/same']) bob.ws!.send(JSON.stringify({ t: 'ack', id }));
    });
    const [a, m] = await Promise.all([
      http('POST', `${gateway.url}/send`, { token: await sign('alice'), body: { to: 'bob', text: 'from alice', id: 'same' } }),
      http('POST', `${gateway.url}/send`, { token: await sign('mallory'), body: { to: 'bob', text: 'from mallory', id: 'same' } }),
    ]);
    expect(a.body).toMatchObject({ id: 'alice/same', delivered: ['bob'] });
    expect(m.body).toMatchObject({ id: 'mallory/same', delivered: ['bob'] });
    expect(got.sort()).toEqual(['alice', 'mallory']);
    bob.ws!.close();
  });

  it('answers GET /route for the authenticated user only', async () => {
    await setUp();
    const token = await sign('alice');
    const route = await http('GET', `${gateway.url}/route?user=alice`, { token });
    expect(route.status).toBe(200);
    expect(route.body).toMatchObject({ user: 'alice', node: expect.stringMatching(/^n[12]$/), url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/) });
    expect((await http('GET', `${gateway.url}/route?user=bob`, { token })).status).toBe(403);
    expect((await http('GET', `${gateway.url}/route?user=alice`)).status).toBe(401);
    expect((await http('GET', `${gateway.url}/route?user=alice&token=${token}`)).status).toBe(401); // tokens ride in headers on plain HTTP
    expect((await http('GET', `${gateway.url}/elsewhere`, { token })).status).toBe(404);
  });

  it('reports an authenticate hook that throws, answers 401, and times out a hook that hangs (503)', async () => {
    cluster = new TestCluster();
    await cluster.startNode('n1');
    await cluster.setRing(['n1']);
    let calls = 0;
    gateway = await startGateway(cluster, { authTimeoutMs: 200 }, {
      authenticate: () => {
        calls++;
        if (calls === 1) throw new Error('database down');
        return new Promise<string>(() => undefined);
      },
    });
    expect((await http('GET', `${gateway.url}/route?user=a`)).status).toBe(401);
    await waitFor(() => gateway.errors.some((e) => e.message === 'database down'));
    const hung = await http('GET', `${gateway.url}/route?user=a`);
    expect(hung.status).toBe(503);
    expect(hung.headers['retry-after']).toBe('1');
  });
});
