/**
 * One chat server: Socket.IO on `ringroute/socket.io`. A user proves who it is
 * with a token signed by the chat's secret (HMAC-SHA256: a demo stand-in for
 * your login's JWT); its socket joins `user:<id>`, and a chat message to
 * another user is `io.to('user:<to>').emitWithAck(...)`, which the adapter
 * publishes to the server owning `<to>` on the ring, not to every server.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Membership, RingCoordinator, RingRouter } from 'ringroute';
import { type RingrouteAdapter, createAdapter } from 'ringroute/socket.io';
import { Server } from 'socket.io';
import type { Backends } from './backends.js';

export function tokenFor(secret: string, user: string): string {
  return createHmac('sha256', secret).update(user).digest('base64url');
}

function validToken(secret: string, user: unknown, token: unknown): user is string {
  if (typeof user !== 'string' || !/^[\w-]{1,64}$/.test(user) || typeof token !== 'string') return false;
  const expected = Buffer.from(tokenFor(secret, user));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface ChatServer {
  readonly id: string;
  readonly url: string;
  readonly router: RingRouter;
  readonly adapter: RingrouteAdapter;
  close(): Promise<void>;
}

export async function startChatServer(id: string, backends: Backends, secret: string, coordinate: boolean): Promise<ChatServer> {
  const { store, membership, transport } = backends.part();
  const coordinator = coordinate ? await RingCoordinator.start({ membership, store }) : undefined;
  const router = await RingRouter.start({ store, resyncMs: 500 });
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter({ router, transport, nodeId: id }) as never });
  const adapter = io.of('/').adapter as unknown as RingrouteAdapter;
  adapter.on('error', (error: Error) => console.warn(`[${id}] ${error.message}`));
  io.use((socket, next) => {
    const { user, token } = socket.handshake.auth as { user?: unknown; token?: unknown };
    if (!validToken(secret, user, token)) return next(new Error('unauthorized'));
    socket.data.user = user;
    next();
  });
  io.on('connection', (socket) => {
    void socket.join(`user:${socket.data.user as string}`);
    socket.on('chat', async (message: unknown, reply: unknown) => {
      if (typeof reply !== 'function') return;
      const { to, text } = (message ?? {}) as { to?: unknown; text?: unknown };
      if (typeof to !== 'string' || typeof text !== 'string' || text.length > 4096) return reply({ error: 'bad message' });
      try {
        const acks = await io.to(`user:${to}`).timeout(3000).emitWithAck('chat', { from: socket.data.user, text });
        reply({ delivered: acks.length });
      } catch (error) {
        reply({ error: (error as Error).message, delivered: (error as { responses?: unknown[] }).responses?.length ?? 0 });
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const membershipHandle: Membership = await membership.join({ id });
  return {
    id,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    router,
    adapter,
    async close() {
      await membershipHandle.leave();
      await io.close();
      await router.close();
      await coordinator?.close();
      await membership.close();
      await store.close();
      await transport.close();
    },
  };
}
