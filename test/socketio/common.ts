/**
 * The common cases of a Socket.IO cluster adapter, as the adapters' own suite
 * (socket.io-redis-adapter `test/index.ts`) checks them: written here from
 * its assertions, run on every transport and room mapping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Server, Socket as ServerSocket } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { type AdapterFactory, type TestCluster, expectEvent, sleep, startCluster } from './support.js';

export function commonSuite(label: string, factory: () => AdapterFactory): void {
  describe(`${label}: common adapter cases`, () => {
    let cluster: TestCluster;
    let servers: Server[];
    let serverSockets: ServerSocket[];
    let clientSockets: ClientSocket[];

    beforeEach(async () => {
      cluster = await startCluster(3, factory());
      ({ servers, serverSockets, clientSockets } = cluster);
    });
    afterEach(async () => cluster.close());

    const [a, b, c] = [0, 1, 2] as const;
    const client = (i: number): ClientSocket => clientSockets[i]!;
    const server = (i: number): Server => servers[i]!;
    const socket = (i: number): ServerSocket => serverSockets[i]!;

    describe('broadcast', () => {
      it('reaches every client, binary included', async () => {
        const got = expectEvent('test', clientSockets);
        server(a).emit('test', 1, '2', Buffer.from([3, 4]));
        for (const [one, two, three] of await got) {
          expect(one).toBe(1);
          expect(two).toBe('2');
          expect(Buffer.isBuffer(three)).toBe(true);
          expect([...(three as Buffer)]).toEqual([3, 4]);
        }
      });

      it('reaches every client of another namespace', async () => {
        for (const io of servers) io.of('/custom');
        const custom = clientSockets.map((c0) => c0.io.socket('/custom'));
        await Promise.all(custom.map((s) => new Promise((resolve) => (s.connected ? resolve(null) : s.once('connect', () => resolve(null))))));
        await sleep(200);
        const got = expectEvent('test', custom, clientSockets);
        server(a).of('/custom').emit('test');
        await got;
        for (const s of custom) s.disconnect();
      });

      it('reaches the clients of a room only', async () => {
        socket(b).join('room1');
        const got = expectEvent('test', [client(b)], [client(a), client(c)]);
        setTimeout(() => server(a).to('room1').emit('test'), 50);
        await got;
      });

      it('reaches every client except those of a room', async () => {
        socket(b).join('room1');
        const got = expectEvent('test', [client(a), client(c)], [client(b)]);
        server(a).of('/').except('room1').emit('test');
        await got;
      });

      it('reaches a client in several of the rooms once', async () => {
        socket(a).join(['room1', 'room2']);
        socket(b).join(['room1', 'room2', 'room3']);
        socket(c).join('room1');
        let count = 0;
        client(a).on('test', () => count++);
        client(c).on('test', () => count++);
        const got = expectEvent('test', [client(a), client(c)], [client(b)]);
        server(a).of('/').to('room1').to('room2').except('room3').emit('test');
        await got;
        await sleep(100);
        expect(count).toBe(2);
      });

      it('reaches the local clients only with .local', async () => {
        const got = expectEvent('test', [client(a)], [client(b), client(c)]);
        server(a).local.emit('test');
        await got;
      });

      it('reaches a single client by its socket id', async () => {
        const got = expectEvent('test', [client(b)], [client(a), client(c)]);
        server(a).to(socket(b).id).emit('test');
        await got;
      });

      it('collects the acknowledgements of every client, and forgets the request after its timeout', async () => {
        client(a).on('test', (cb: (v: number) => void) => cb(1));
        client(b).on('test', (cb: (v: number) => void) => cb(2));
        client(c).on('test', (cb: (v: number) => void) => cb(3));
        const responses = await server(a).timeout(500).emitWithAck('test');
        expect([...responses].sort()).toEqual([1, 2, 3]);
        await sleep(550);
        expect((server(a).of('/').adapter as unknown as { ackRequests: Map<string, unknown> }).ackRequests.size).toBe(0);
      });

      it('collects binary acknowledgements', async () => {
        clientSockets.forEach((s, i) => s.on('test', (cb: (v: Buffer) => void) => cb(Buffer.from([i + 1]))));
        const responses = await server(a).timeout(500).emitWithAck('test');
        expect(responses).toHaveLength(3);
        for (const response of responses) expect(Buffer.isBuffer(response)).toBe(true);
      });

      it('resolves an ack broadcast to a room nobody is in with no responses', async () => {
        expect(await server(a).to('abc').timeout(500).emitWithAck('test')).toEqual([]);
      });

      it('fails at the timeout with the acknowledgements that arrived', async () => {
        client(a).on('test', (cb: (v: number) => void) => cb(1));
        client(b).on('test', (cb: (v: number) => void) => cb(2));
        client(c).on('test', () => undefined);
        const error = await server(a)
          .timeout(500)
          .emitWithAck('test')
          .then(
            () => null,
            (e: Error & { responses: unknown[] }) => e,
          );
        expect(error).toBeInstanceOf(Error);
        expect([...error!.responses].sort()).toEqual([1, 2]);
      });
    });

    describe('socketsJoin', () => {
      it('makes every socket join a room', async () => {
        server(a).socketsJoin('room1');
        await sleep(200);
        for (const s of serverSockets) expect(s.rooms.has('room1')).toBe(true);
      });

      it('makes the sockets of a room join another', async () => {
        socket(a).join('room1');
        socket(c).join('room1');
        server(a).in('room1').socketsJoin('room2');
        await sleep(200);
        expect(serverSockets.map((s) => s.rooms.has('room2'))).toEqual([true, false, true]);
      });

      it('makes one socket join a room', async () => {
        server(a).in(socket(b).id).socketsJoin('room3');
        await sleep(200);
        expect(serverSockets.map((s) => s.rooms.has('room3'))).toEqual([false, true, false]);
      });
    });

    describe('socketsLeave', () => {
      it('makes every socket leave a room', async () => {
        socket(a).join('room1');
        socket(c).join('room1');
        server(a).socketsLeave('room1');
        await sleep(200);
        expect(serverSockets.map((s) => s.rooms.has('room1'))).toEqual([false, false, false]);
      });

      it('makes the sockets of a room leave another', async () => {
        socket(a).join(['room1', 'room2']);
        socket(b).join(['room1', 'room2']);
        socket(c).join(['room2']);
        server(a).in('room1').socketsLeave('room2');
        await sleep(200);
        expect(serverSockets.map((s) => s.rooms.has('room2'))).toEqual([false, false, true]);
      });

      it('makes one socket leave a room', async () => {
        for (const s of serverSockets) s.join('room3');
        server(a).in(socket(b).id).socketsLeave('room3');
        await sleep(200);
        expect(serverSockets.map((s) => s.rooms.has('room3'))).toEqual([true, false, true]);
      });
    });

    it('disconnectSockets disconnects every socket', async () => {
      const reasons = Promise.all(clientSockets.map((s) => new Promise((resolve) => s.once('disconnect', resolve))));
      server(a).disconnectSockets();
      expect(await reasons).toEqual(['io server disconnect', 'io server disconnect', 'io server disconnect']);
    });

    describe('fetchSockets', () => {
      it('returns every socket and leaves no request behind', async () => {
        const sockets = await server(a).fetchSockets();
        expect(sockets.map((s) => s.id).sort()).toEqual(serverSockets.map((s) => s.id).sort());
        expect((server(a).of('/').adapter as unknown as { requests: Map<string, unknown> }).requests.size).toBe(0);
      });

      it('returns one remote socket with its handshake, data and rooms', async () => {
        socket(b).data = 'test';
        const [remote] = await server(a).in(socket(b).id).fetchSockets();
        expect(remote!.handshake).toEqual(JSON.parse(JSON.stringify(socket(b).handshake)));
        expect(remote!.data).toBe('test');
        expect(remote!.rooms.size).toBe(1);
      });

      it('returns the local sockets only with .local', async () => {
        expect(await server(a).local.fetchSockets()).toHaveLength(1);
      });
    });

    describe('serverSideEmit', () => {
      it('sends an event to the other servers only', async () => {
        const heard: unknown[][] = [];
        server(a).on('hello', () => heard.push(['self']));
        server(b).on('hello', (...args: unknown[]) => heard.push(args));
        server(c).of('/').on('hello', (...args: unknown[]) => heard.push(args));
        server(a).serverSideEmit('hello', 'world', 1, '2');
        await sleep(200);
        expect(heard).toEqual([
          ['world', 1, '2'],
          ['world', 1, '2'],
        ]);
      });

      it('collects a response from each other server', async () => {
        server(b).on('hello', (cb: (v: unknown) => void) => cb(2));
        server(c).on('hello', (cb: (v: unknown) => void) => cb('3'));
        const responses = await server(a).serverSideEmitWithAck('hello');
        expect([...responses].map(String).sort()).toEqual(['2', '3']);
      });

      it('times out when a server does not respond, with the responses that arrived', async () => {
        server(b).on('hello', (cb: (v: unknown) => void) => cb(2));
        server(c).on('hello', () => undefined);
        const outcome = await new Promise<[Error | null, unknown[]]>((resolve) => server(a).serverSideEmit('hello', (err: Error | null, responses: unknown[]) => resolve([err, responses])));
        expect(outcome[0]?.message).toBe('timeout reached: only 1 responses received out of 2');
        expect(outcome[1]).toEqual([2]);
      }, 8000);
    });
  });
}
