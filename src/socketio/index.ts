/**
 * `ringroute/socket.io`: a Socket.IO cluster adapter that sends a packet for
 * a user's room to the one server that owns the user on the ring, instead of
 * to every server as `@socket.io/redis-adapter` does. Rooms that are not
 * keys, namespace-wide broadcasts and `serverSideEmit` keep Socket.IO's
 * cluster semantics. It runs over any ringroute {@link Transport} (memory,
 * `RedisTransport`), and needs `socket.io-adapter` (2.5) installed. Routing,
 * forwarding of sockets held off their owner, acks, ordering and every bound
 * are documented in `docs/socketio.md`.
 *
 * @example
 * ```ts
 * import { createAdapter } from 'ringroute/socket.io';
 * const io = new Server(httpServer, { adapter: createAdapter({ router, transport, nodeId: 'node-1' }) });
 * io.to('user:42').emit('message', 'hi'); // published to the owner of "42" only
 * ```
 */
import { RingrouteAdapter } from './adapter.js';
import { type SocketIoAdapterOptions, resolveOptions } from './options.js';

export { RingrouteAdapter, type SocketIoAdapterStats } from './adapter.js';
export { type SocketIoAdapterOptions, type SocketIoRouter, userRooms } from './options.js';

/**
 * The value of Socket.IO's `adapter` server option (or of `io.adapter(...)`):
 * every namespace of the server gets a {@link RingrouteAdapter}. Options are
 * checked here, so a mistake throws before the server starts.
 */
export function createAdapter(options: SocketIoAdapterOptions): (nsp: unknown) => RingrouteAdapter {
  const resolved = resolveOptions(options);
  // A plain function, not an arrow: Socket.IO calls it with `new`.
  return function ringrouteAdapter(nsp: unknown): RingrouteAdapter {
    return new RingrouteAdapter(nsp as ConstructorParameters<typeof RingrouteAdapter>[0], resolved);
  };
}
