/**
 * One app node of the connection-storm benchmark (bench/storm.ts), in its
 * own process: a `node:http` server on 127.0.0.1 and a `ws`
 * `WebSocketServer({ noServer: true })`, every upgrade admitted by a
 * `HandshakeGate` (src/sessions, default bounds: 64 handshakes at once,
 * 1,024 waiting up to 3 s, the rest answered 503 with `Retry-After`). It
 * accepts ANY user (ownership checks are not what the storm measures) and
 * sends the welcome frame `{"t":"welcome","v":1,"node":"<id>"}` at once;
 * the session then stays open until the client leaves, pinged every 25 s
 * (`{"t":"ping"}`, `SessionNode`'s default interval; the users answer) so
 * that no gateway's idle timeout (ringroute's `idleTimeoutMs`, 60 s) cuts a
 * live session. Every gateway of the storm sits in front of the same nodes.
 *
 * Reports `{ type: 'ready', port }`; answers `{ type: 'stats' }` with its
 * open sessions and the gate's counters, `{ type: 'drop' }` by cutting every
 * session (`drop-done`), `{ type: 'stop' }` by exiting.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { HandshakeGate } from '../src/sessions/index.js';
import { PING_FRAME, welcomeFrame } from '../src/sessions/protocol.js';

/** SessionNode's default `pingIntervalMs`. */
const PING_INTERVAL_MS = 25_000;

const { id } = JSON.parse(process.argv[2]!) as { id: string };
const welcome = welcomeFrame(id);
let errors = 0;
const gate = new HandshakeGate();
gate.on('error', () => errors++);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024, clientTracking: true });
const server = createServer((_req, res) => res.writeHead(404).end());
gate.watch(server);
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  gate.admit(socket, (done) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      done();
      ws.on('error', () => undefined);
      ws.send(welcome);
      const ping = setInterval(() => ws.send(PING_FRAME), PING_INTERVAL_MS);
      ws.once('close', () => clearInterval(ping));
    });
  });
});
await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') process.send!({ type: 'stats', sessions: wss.clients.size, gate: gate.stats(), errors });
  if (message.type === 'drop') {
    for (const ws of wss.clients) ws.terminate();
    process.send!({ type: 'drop-done' });
  }
  if (message.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', port: (server.address() as AddressInfo).port });
