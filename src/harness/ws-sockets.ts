/**
 * `--sockets ws`: the users' sessions as real WebSockets over loopback
 * (the `ws` package), in the node's process: a WebSocket server per node,
 * whose connections are attached to the node's `SessionNode` as they are,
 * and one client per user that acknowledges each message over the socket.
 * Each user costs two file descriptors and one ephemeral port towards its
 * node's server, so the size is checked before anything starts.
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionNode } from '../sessions/session-node.js';
import type { Clients } from './clients.js';
import { SetupError } from './setup-error.js';
import { userIndex } from './users.js';

/** Descriptors a process needs beyond its users' sockets (Node itself, Redis or NATS connections, the server). */
const SPARE_DESCRIPTORS = 200;
/** Connections opened at once while attaching. */
const CONNECT_CONCURRENCY = 256;
const CONNECT_TIMEOUT_MS = 30_000;

/** The soft limit of open files of this process (Linux), or null where it cannot be read. */
function descriptorLimit(): number | null {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line === null || line[1] === 'unlimited' ? null : Number(line[1]);
  } catch {
    return null;
  }
}

/** Ephemeral ports one client address has towards one server (Linux), or null. */
function ephemeralPorts(): number | null {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && high !== undefined && high >= low ? high - low + 1 : null;
  } catch {
    return null;
  }
}

/**
 * Refuses, before anything starts, a size this machine cannot open.
 * @param perProcess - the most sessions one process holds with both ends of their sockets (all users in one process with the memory transport).
 * @param perNode - the most sessions one node holds: one ephemeral port each towards its server.
 * @param what - what needs them, for the message.
 * @param perSession - descriptors a session costs in that process: 2 with both ends there, 1 with the clients elsewhere.
 * @throws SetupError naming the limit and what would fit.
 */
export function checkSockets(perProcess: number, perNode: number, what = '--sockets ws', perSession = 2): void {
  const limit = descriptorLimit();
  const needed = perSession * perProcess + SPARE_DESCRIPTORS;
  if (limit !== null && needed > limit) {
    throw new SetupError(
      `${what} needs about ${needed} file descriptors in one process (${perSession} per session, ${perProcess} sessions) but this process may open ${limit} ("ulimit -n"); use at most ${Math.floor((limit - SPARE_DESCRIPTORS) / perSession)} sessions per process${perSession === 2 ? ', or more nodes with --transport redis or nats' : ''}`,
    );
  }
  const ports = ephemeralPorts();
  if (ports !== null && perNode > ports) {
    throw new SetupError(`${what} needs ${perNode} ephemeral ports towards one node's server but this machine has ${ports} (net.ipv4.ip_local_port_range); use more nodes or fewer users`);
  }
}

interface WsModule {
  WebSocketServer: new (options: { server: Server }) => { on(event: 'connection', listener: (ws: WsSocket, request: { url?: string }) => void): void; close(): void };
  WebSocket: new (url: string) => WsSocket;
}
interface WsSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly bufferedAmount: number;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'close' | 'open', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}

async function loadWs(): Promise<WsModule> {
  const name = 'ws'; // in a variable: bundlers leave it alone and it stays optional
  try {
    const mod = (await import(name)) as Partial<WsModule> & { default?: Partial<WsModule> };
    const ws = mod.WebSocketServer === undefined ? mod.default : mod;
    if (ws?.WebSocketServer === undefined || ws.WebSocket === undefined) throw new SetupError('the installed ws package has no WebSocketServer; install ws 8');
    return ws as WsModule;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new SetupError('--sockets ws needs the ws package, which is not installed: run "npm install ws"');
    throw error;
  }
}

/** A node's WebSocket server and its users' clients. */
export interface WsSessions {
  close(): Promise<void>;
}

/** Starts `node`'s WebSocket server, connects every user to it and waits until each is attached (its welcome arrived). */
export async function attachWsUsers(node: SessionNode, users: readonly string[], clients: Clients): Promise<WsSessions> {
  const { WebSocketServer, WebSocket } = await loadWs();
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws, request) => {
    const key = new URL(request.url ?? '/', 'http://x').searchParams.get('user') ?? '';
    const session = node.attach(key, ws);
    if (session === null) return; // refused: attach closed it
    ws.on('message', (data) => session.receive(data));
    ws.on('close', () => session.detach());
    ws.on('error', () => session.detach());
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  const sockets: WsSocket[] = [];
  const open = (user: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}?user=${encodeURIComponent(user)}`);
      const index = userIndex(user);
      const timer = setTimeout(() => reject(new Error(`${user} was not attached to ${node.id} within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      sockets.push(ws);
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"t":"welcome"')) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const ack = clients.receive(index, text);
        if (ack !== null) ws.send(ack);
      });
      ws.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`${node.id} closed ${user}'s WebSocket while attaching`));
      });
      ws.on('error', (error) => reject(new Error(`${user} could not connect to ${node.id}: ${error.message}`)));
    });
  const close = async (): Promise<void> => {
    for (const ws of sockets) ws.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  try {
    for (let i = 0; i < users.length; i += CONNECT_CONCURRENCY) await Promise.all(users.slice(i, i + CONNECT_CONCURRENCY).map(open));
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}
