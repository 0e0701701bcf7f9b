import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { createAdapter } from '../../src/socketio/index.js';
import { commonSuite } from './common.js';
import { TestRouter, everyRoomAKey, lateHolds } from './support.js';

const NODES = ['node-1', 'node-2', 'node-3'];

function memory(roomKey?: (room: string) => string | undefined, holdDelayMs?: number) {
  return () => {
    const bus = new MemoryTransport();
    const router = new TestRouter(NODES);
    return async (i: number) => ({
      adapter: createAdapter({
        router,
        transport: holdDelayMs === undefined ? bus.connect() : lateHolds(bus, holdDelayMs),
        nodeId: NODES[i]!, requestTimeoutMs: 1000,
        ...(roomKey === undefined ? {} : { roomKey }),
      }),
    });
  };
}

commonSuite('memory transport, user:<id> rooms are keys', memory());
commonSuite('memory transport, every room but a socket id is a key', memory(everyRoomAKey));
// Registrations that lose the race with the packets (as over Redis, where a join and an emit on two servers use two connections).
commonSuite('memory transport, every room a key, registrations 20 ms late', memory(everyRoomAKey, 20));
