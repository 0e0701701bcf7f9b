/**
 * The admission and descriptor metrics of `instrument()`, read back from a
 * real prom-client registry while a gateway refuses past its budget and a
 * HandshakeGate refuses past its connections.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { instrument } from '../../src/metrics/index.js';
import { HandshakeGate } from '../../src/sessions/index.js';
import { TestCluster } from '../sessions/support.js';
import { connect, sign, startGateway } from '../gateway/support.js';
import { waitFor } from '../support/wait.js';

function value(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('instrument() admission metrics', () => {
  it('counts the gateway\'s refusals by reason, its tunnels and held descriptors, and the process descriptors', async () => {
    const cluster = new TestCluster();
    closers.push(() => cluster.close());
    await cluster.startNode('n1');
    await cluster.setRing(['n1']);
    const gateway = await startGateway(cluster, { maxDescriptors: 520, reservedDescriptors: 514, maxTunnels: 100 });
    closers.push(() => gateway.close());
    const registry = new Registry();
    const metrics = instrument({ registry, gateway: gateway.handler });
    closers.push(() => metrics.close());
    const sockets: WebSocket[] = [];
    closers.push(() => sockets.forEach((ws) => ws.terminate()));
    for (const user of ['a', 'b', 'c']) {
      const answer = await connect(`${gateway.ws}/ws?user=${user}&key=${user}&token=${await sign(user)}`);
      if (answer.ws) sockets.push(answer.ws);
    }
    const text = await registry.metrics();
    expect(value(text, 'ringroute_gateway_tunnels')).toBe(3);
    expect(value(text, 'ringroute_gateway_descriptors_held')).toBe(6);
    expect(value(text, 'ringroute_gateway_upgrades_in_progress')).toBe(0);
    expect(value(text, 'ringroute_process_descriptors_limit')).toBeGreaterThan(0);
    expect(value(text, 'ringroute_process_descriptors_open')).toBeGreaterThan(6);
    expect(value(text, 'ringroute_descriptor_exhaustion_total')).toBe(0);
    expect((await connect(`${gateway.ws}/ws?user=d&key=d&token=${await sign('d')}`)).status).toBe(503); // 6 + 2 > 520 - 514
    expect(value(await registry.metrics(), 'ringroute_gateway_refused_total{reason="descriptors"}')).toBe(1);
  });

  it('counts a HandshakeGate\'s refusals and open connections', async () => {
    const gate = new HandshakeGate({ maxConnections: 1 });
    const wss = new WebSocketServer({ noServer: true });
    const server = createServer();
    server.on('upgrade', (req, socket, head) => gate.admit(socket, (done) => wss.handleUpgrade(req, socket, head, () => done())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const registry = new Registry();
    const metrics = instrument({ registry, handshakeGate: gate });
    closers.push(() => metrics.close());
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const first = new WebSocket(url);
    closers.push(() => first.terminate());
    await new Promise((r) => first.once('open', r));
    const second = new WebSocket(url);
    second.on('error', () => undefined);
    await new Promise((r) => second.once('unexpected-response', r));
    second.terminate();
    await waitFor(() => gate.stats().refused.connections === 1);
    const text = await registry.metrics();
    expect(value(text, 'ringroute_handshake_connections')).toBe(1);
    expect(value(text, 'ringroute_handshakes_refused_total{reason="connections"}')).toBe(1);
    expect(value(text, 'ringroute_handshakes_in_progress')).toBe(0);
  });
});
