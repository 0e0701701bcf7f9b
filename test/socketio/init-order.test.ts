import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import type { Transport } from '../../src/live/transport.js';
import { createAdapter } from '../../src/socketio/index.js';
import { waitFor } from '../support/wait.js';
import { TestRouter } from './support.js';

describe('ringroute/socket.io start-up', () => {
  it('listens at its own address before the shared one, so a peer that hears its answer to a heartbeat can send to it at once', async () => {
    const inner = new MemoryTransport();
    const order: string[] = [];
    const transport: Transport = {
      publish: (address, message) => inner.publish(address, message),
      listen: (address, listener, onError) => {
        order.push(address);
        return inner.listen(address, listener, onError);
      },
      close: () => inner.close(),
    };
    const io = new Server({ adapter: createAdapter({ router: new TestRouter(['node-1', 'node-2']), transport, nodeId: 'node-1' }) });
    try {
      await waitFor(() => order.length >= 2);
      expect(order[0]).toMatch(/:node:node-1$/);
      expect(order[1]).toMatch(/:all$/);
    } finally {
      // No HTTP server is attached, so io.close() has no engine to close: close the adapter itself.
      await (io.of('/').adapter as unknown as { close(): Promise<void> }).close();
      await inner.close();
    }
  });
});
