/** The transport contract against NatsTransport on a private nats-server, and what is specific to it. */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { NatsTransport, addressToken } from '../../../src/adapters/nats/index.js';
import { RingError } from '../../../src/errors.js';
import { transportContract } from '../../contract/transport.contract.js';
import { randomNatsPrefix, skipWithoutNats, useNatsServer } from '../../support/nats-server.js';
import { TestCluster } from '../../sessions/support.js';
import { rejectionOf, sleep, waitFor } from '../../support/wait.js';

describe.skipIf(skipWithoutNats('NatsTransport'))('NatsTransport', () => {
  const server = useNatsServer();

  transportContract('NatsTransport', () => {
    const prefix = randomNatsPrefix('transport');
    const connections: NatsConnection[] = [];
    const handles: NatsTransport[] = [];
    return {
      countsListeners: false,
      async create() {
        const nc = await connect({ servers: server().url });
        connections.push(nc);
        const handle = new NatsTransport({ nats: nc, prefix });
        handles.push(handle);
        return handle;
      },
      async cleanup() {
        for (const h of handles) await h.close();
        for (const nc of connections) await nc.close();
      },
    };
  });

  it('encodes addresses into one safe subject token each', () => {
    const fake = { publish() {}, subscribe() {}, request() {}, isClosed: () => false, flush: async () => undefined, status() {} } as never;
    const transport = new NatsTransport({ nats: fake, prefix: 'chat' });
    expect(transport.subject('node:a')).toBe('chat.sessions.node:a');
    expect(transport.subject('all')).toBe('chat.sessions.all');
    expect(addressToken('node:a.b')).toBe('node:a%2Eb');
    expect(addressToken('x *>y')).toBe('x%20%2A%3Ey');
    expect(addressToken('50%#')).toBe('50%25%23');
    expect(addressToken('é')).toBe('%C3%A9');
    const long = addressToken('n'.repeat(1000));
    expect(long).toMatch(/^#[0-9a-f]{64}$/);
    expect(addressToken('n'.repeat(1000))).toBe(long);
    expect(() => addressToken('')).toThrow(RingError);
    for (const prefix of ['a.b', 'a*', 'a>', 'a b', '', 'x'.repeat(65)]) {
      expect(() => new NatsTransport({ nats: fake, prefix })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
    expect(() => new NatsTransport({ nats: {} as never })).toThrow(/NATS connection/);
  });

  it('keeps addresses that differ only in reserved characters apart', async () => {
    const nc = await connect({ servers: server().url });
    const prefix = randomNatsPrefix('apart');
    const a = new NatsTransport({ nats: nc, prefix });
    const b = new NatsTransport({ nats: nc, prefix });
    try {
      const heard: string[] = [];
      await b.listen('node:a.b', (m) => heard.push(`dot:${m}`));
      await b.listen('node:a*b', (m) => heard.push(`star:${m}`));
      await b.listen('node:a>', (m) => heard.push(`gt:${m}`));
      expect(await a.publish('node:a.b', '1')).toBe(1);
      expect(await a.publish('node:a*b', '2')).toBe(1);
      expect(await a.publish('node:a>', '3')).toBe(1);
      expect(await a.publish('node:a', '4')).toBe(0);
      await waitFor(() => heard.length === 3);
      await sleep(30);
      expect(heard.sort()).toEqual(['dot:1', 'gt:3', 'star:2']);
    } finally {
      await a.close();
      await b.close();
      await nc.close();
    }
  });

  it('refuses a message over max_payload before sending it', async () => {
    const nc = await connect({ servers: server().url });
    const transport = new NatsTransport({ nats: nc, prefix: randomNatsPrefix('big') });
    try {
      const max = nc.info!.max_payload;
      const error = await rejectionOf(transport.publish('node:a', 'x'.repeat(max + 1)));
      expect(error).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('max_payload') });
    } finally {
      await transport.close();
      await nc.close();
    }
  });

  it('turns a connection closed under it into CLOSED errors and one report per listener, never a crash', async () => {
    const nc = await connect({ servers: server().url });
    const transport = new NatsTransport({ nats: nc, prefix: randomNatsPrefix('closed') });
    const errors: Error[] = [];
    await transport.listen('node:c', () => undefined, (e) => errors.push(e));
    await nc.close();
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'CLOSED' });
    expect(await rejectionOf(transport.publish('node:c', 'x'))).toMatchObject({ code: 'CLOSED' });
    expect(await rejectionOf(transport.listen('node:d', () => undefined))).toMatchObject({ code: 'CLOSED' });
    await transport.close();
  });

  it('carries deliveries and outcomes between nodes and a dispatcher', async () => {
    const connections: NatsConnection[] = [];
    const prefix = randomNatsPrefix('sessions');
    const nats = await Promise.all(Array.from({ length: 4 }, () => connect({ servers: server().url })));
    connections.push(...nats);
    let next = 0;
    const cluster = new TestCluster(() => new NatsTransport({ nats: nats[next++ % nats.length]!, prefix }));
    try {
      await cluster.startNode('a');
      await cluster.startNode('b');
      await cluster.setRing(['a', 'b']);
      const got: string[] = [];
      const users = ['user-1', 'user-2', 'user-3', 'user-4'];
      const sessions = users.map((u) => cluster.client(u, 'a'));
      for (const s of sessions) s.on('message', (d) => got.push(d));
      await waitFor(() => sessions.every((s) => s.node !== null));
      const dispatcher = await cluster.dispatcher();
      const outcomes = await dispatcher.sendGroup(users, 'hi group');
      expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
      await waitFor(() => got.length === 4);
    } finally {
      await cluster.close();
      for (const nc of connections) await nc.close();
    }
  });
});
