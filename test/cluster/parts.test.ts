/** The cluster example's parts on their own: the gateway's routes, holding and failing, TLS. (The session table, hold queue and backoff are ringroute/sessions and ringroute/client, tested in test/sessions and test/client.) */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMembership, MemoryRingStore, MemoryTransport } from 'ringroute';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AppNode } from '../../examples/cluster/app-node.js';
import { User } from '../../examples/cluster/client.js';
import { type ClusterHandle, startMemoryCluster } from '../../examples/cluster/cluster.js';
import { Gateway, type GatewayStats, type Result } from '../../examples/cluster/gateway.js';
import { TokenSigner } from '../../examples/cluster/auth.js';
import { requestJson, requestStatus } from '../../examples/cluster/http.js';
import { MODES } from '../../examples/cluster/protocol.js';
import { waitFor } from '../support/wait.js';

let cluster: ClusterHandle | undefined;
const users: User[] = [];
const SECRET = 'parts-test-secret-of-at-least-32-bytes';
const ADMIN = 'parts-test-admin-token';
const signer = new TokenSigner(SECRET);
const token = (user: string) => signer.sign(user);

afterEach(async () => {
  for (const user of users.splice(0)) user.stop();
  await cluster?.close();
  cluster = undefined;
});

async function start(graceMs: number): Promise<{ gateway: string; admin: string }> {
  cluster = await startMemoryCluster({
    gateways: 1, nodes: ['node-1', 'node-2'], strategy: 'selective', mode: 'hash', graceMs, ttlMs: 2000, heartbeatMs: 500, secret: SECRET, adminToken: ADMIN,
  });
  const gateway = cluster.gateways[0]!;
  const admin = cluster.admins[0]!;
  await waitFor(async () => (await requestJson<GatewayStats>('GET', `${admin}/stats`, undefined, { token: ADMIN })).nodes.length === 2, { what: 'ring with 2 nodes' });
  return { gateway, admin };
}

function connect(id: string, gateway: string, via: 'proxy' | 'route', got: string[]): User {
  const user = new User(id, { gateway, via, token, onMessage: (_, frame) => got.push(frame.id) });
  users.push(user);
  user.start();
  return user;
}

describe('Gateway', () => {
  it('answers GET /route with the owner and its URL', async () => {
    const { gateway } = await start(1000);
    const route = await requestJson<{ node: string; url: string }>('GET', `${gateway}/route?user=alice`, undefined, { token: await token('alice') });
    expect(cluster!.nodes.get(route.node)).toBe(route.url);
  });

  it('rejects bad requests with 400', async () => {
    const { gateway } = await start(1000);
    const a = await token('a');
    await expect(requestJson('GET', `${gateway}/route?user=`, undefined, { token: a })).rejects.toThrow(/400/);
    await expect(requestJson('POST', `${gateway}/send`, { to: 'b b', text: 'x' }, { token: a })).rejects.toThrow(/400/);
    await expect(requestJson('POST', `${gateway}/groups/g1/send`, { members: 'b', text: 'x' }, { token: a })).rejects.toThrow(/400/);
  });

  it('keeps admin endpoints off the public port and behind the admin token; /healthz stays open', async () => {
    const { gateway, admin } = await start(1000);
    expect((await requestStatus('GET', `${gateway}/healthz`)).status).toBe(200);
    expect((await requestStatus('GET', `${admin}/healthz`)).status).toBe(200);
    expect((await requestStatus('POST', `${gateway}/admin/mode`, { token: ADMIN, body: { mode: 'hash' } })).status).toBe(404);
    expect((await requestStatus('GET', `${gateway}/stats`, { token: ADMIN })).status).toBe(404);
    expect((await requestStatus('GET', `${admin}/stats`)).status).toBe(401);
    expect((await requestStatus('GET', `${admin}/stats`, { token: await token('alice') })).status).toBe(401);
    expect((await requestStatus('POST', `${admin}/admin/mode`, { token: ADMIN, body: { mode: 'hash' } })).status).toBe(200);
    const node = cluster!.nodes.get('node-1')!.replace(/^ws/, 'http');
    const nodeAdmin = cluster!.nodeAdmins.get('node-1')!;
    expect((await requestStatus('GET', `${node}/healthz`)).status).toBe(200);
    expect((await requestStatus('GET', `${node}/stats`, { token: ADMIN })).status).toBe(404);
    expect((await requestStatus('GET', `${nodeAdmin}/healthz`)).status).toBe(200);
    expect((await requestStatus('GET', `${nodeAdmin}/stats`)).status).toBe(401);
    expect((await requestStatus('POST', `${nodeAdmin}/admin/strategy`, { body: { strategy: 'selective' } })).status).toBe(401);
    expect((await requestStatus('GET', `${nodeAdmin}/stats`, { token: ADMIN })).status).toBe(200);
  });

  for (const mode of MODES) {
    it(`reports a message failed when its user does not connect within the grace period (${mode})`, async () => {
      const { gateway, admin } = await start(600);
      await requestJson('POST', `${admin}/admin/mode`, { mode }, { token: ADMIN });
      const result = await requestJson<Result>('POST', `${gateway}/send`, { to: 'nobody', text: 'hi', id: 'm1' }, { token: await token('alice') });
      expect(result).toEqual({ id: 'alice/m1', delivered: [], failed: [{ user: 'nobody', reason: 'expired' }], unknown: [] });
    });

    it(`holds a message for a user who connects within the grace period, then delivers it once (${mode})`, async () => {
      const { gateway, admin } = await start(5000);
      await requestJson('POST', `${admin}/admin/mode`, { mode }, { token: ADMIN });
      const sending = requestJson<Result>('POST', `${gateway}/groups/team/send`, { members: ['alice', 'bob', 'carol'], text: 'hi', id: 'g1' }, { token: await token('alice') });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const bob: string[] = [];
      const carol: string[] = [];
      connect('bob', gateway, 'proxy', bob);
      connect('carol', gateway, 'route', carol);
      const result = await sending;
      expect(result.delivered.sort()).toEqual(['bob', 'carol']);
      expect(result.failed).toEqual([]);
      expect(result.unknown).toEqual([]);
      expect(bob).toEqual(['alice/g1']);
      expect(carol).toEqual(['alice/g1']);
    });
  }

  it('connects a user through the one-step proxy to the owner', async () => {
    const { gateway } = await start(1000);
    const route = await requestJson<{ node: string }>('GET', `${gateway}/route?user=dave`, undefined, { token: await token('dave') });
    const dave = connect('dave', gateway, 'proxy', []);
    await waitFor(() => dave.node, { what: 'dave connected' });
    expect(dave.node).toBe(route.node);
  });
});

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!openssl)('Gateway behind TLS', () => {
  it('serves HTTPS and proxies WSS to a plain app node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringroute-tls-'));
    const store = new MemoryRingStore();
    const membership = new MemoryMembership();
    const stop: Array<() => Promise<void>> = [];
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      const key = readFileSync(join(dir, 'key.pem'));
      const cert = readFileSync(join(dir, 'cert.pem'));
      const bus = new MemoryTransport();
      const auth = { secret: SECRET, adminToken: ADMIN };
      const gateway = await Gateway.start({ id: 'gw', store: store.connect(), membership: membership.connect(), transport: bus.connect(), ...auth, tls: { key, cert } });
      stop.push(() => gateway.close());
      const node = await AppNode.start({ id: 'node-1', store: store.connect(), membership: membership.connect(), transport: bus.connect(), ...auth });
      stop.push(() => node.kill());
      expect(gateway.url).toMatch(/^https:/);
      await waitFor(() => gateway.stats().nodes.length === 1, { what: 'ring with the node' });
      const erin = await token('erin');
      const route = await new Promise<{ node: string }>((resolve, reject) => {
        get(`${gateway.url}/route?user=erin`, { ca: cert, headers: { authorization: `Bearer ${erin}` } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(body) as { node: string }));
        }).on('error', reject);
      });
      expect(route.node).toBe('node-1');
      const ws = new WebSocket(`${gateway.url.replace(/^https/, 'wss')}/ws?user=erin&token=${erin}`, { ca: cert });
      const welcome = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
      });
      ws.terminate();
      expect(JSON.parse(welcome)).toEqual({ t: 'welcome', v: 1, node: 'node-1' });
    } finally {
      for (const f of stop.reverse()) await f();
      await membership.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
