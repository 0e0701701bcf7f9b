/**
 * A share of the end-to-end run's users (bench/sessions-e2e.ts), in its own
 * process: SessionClients on real `ws` WebSockets, each starting at a node
 * that may not own it (the node redirects). Answers `{ type: 'status' }` with
 * how many are connected, and `{ type: 'received' }` with every message id
 * each user received (each id once: the client drops repeats).
 */
import { WebSocket } from 'ws';
import { SessionClient, type WebSocketConstructor } from '../src/client/index.js';

const config = JSON.parse(process.argv[2]!) as { from: number; count: number; nodes: string[] };
const clients: SessionClient[] = [];
const received: Array<[string, string]> = [];
let moves = 0;
process.on('message', (message: { type: string }) => {
  if (message.type === 'status') process.send!({ type: 'status', connected: clients.filter((c) => c.node !== null).length, moves });
  if (message.type === 'received') process.send!({ type: 'received', received });
  if (message.type === 'stop') {
    for (const c of clients) c.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
for (let i = 0; i < config.count; i++) {
  const key = `user-${config.from + i}`;
  const client = new SessionClient({
    url: `${config.nodes[i % config.nodes.length]!}/ws?key=${key}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoffMs: 250,
    maxBackoffMs: 5000,
    moveJitterMs: 500,
    idleTimeoutMs: 0,
  });
  client.on('error', () => undefined);
  client.on('move', () => moves++);
  client.on('message', (_data, id) => received.push([key, id]));
  clients.push(client);
  client.start();
  if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 20)); // do not flood the accept queues
}
process.send!({ type: 'started' });
