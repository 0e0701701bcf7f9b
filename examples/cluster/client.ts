/**
 * Simulated users: each holds a real WebSocket to the user's owner node,
 * acknowledges every message, and reconnects with jittered exponential
 * backoff when its node tells it to move or when the connection drops.
 *
 * A user connects either through the gateway (`proxy`: one step,
 * `ws://gateway/ws?user=ID`) or in two steps as in the article (`route`:
 * `GET /route?user=ID`, then straight to the node; a `move` frame's URL is
 * used as is for the next attempt).
 */
import { type Agent } from 'node:http';
import { WebSocket } from 'ws';
import { requestJson } from './http.js';
import type { ClientFrame, ServerFrame } from './protocol.js';

export type Via = 'proxy' | 'route';
export type MessageFrame = Extract<ServerFrame, { type: 'msg' }>;

export interface UserOptions {
  /** The user's gateway, `http://host:port`. */
  readonly gateway: string;
  readonly via: Via;
  /** Called for every message frame, duplicates included (the user acks each). */
  readonly onMessage: (user: string, frame: MessageFrame) => void;
  readonly agent?: Agent;
}

const MOVE_BASE_MS = 250;
const DROP_BASE_MS = 200;
const MAX_BACKOFF_MS = 2000;

/** Full jitter: a uniform delay in [0, min(cap, base x 2^attempt)). */
export function backoff(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return random() * Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt, 16));
}

export class User {
  readonly id: string;
  readonly #o: UserOptions;
  /** The node that welcomed the current connection, or null while (re)connecting. */
  node: string | null = null;
  connects = 0;
  moves = 0;
  #ws: WebSocket | null = null;
  #attempt = 0;
  #moveUrl: string | null = null;
  #moved = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(id: string, options: UserOptions) {
    this.id = id;
    this.#o = options;
  }

  start(): void {
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.terminate();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let base: string;
    if (this.#o.via === 'proxy') {
      base = this.#o.gateway.replace(/^http/, 'ws');
    } else if (this.#moveUrl !== null) {
      base = this.#moveUrl;
    } else {
      try {
        const route = await requestJson<{ url: string | null }>('GET', `${this.#o.gateway}/route?user=${encodeURIComponent(this.id)}`, undefined, {
          ...(this.#o.agent ? { agent: this.#o.agent } : {}),
          timeoutMs: 5000,
        });
        if (route.url === null) throw new Error('owner has no url');
        base = route.url;
      } catch {
        return this.#retry();
      }
    }
    this.#moveUrl = null;
    this.#moved = false;
    if (this.#stopped) return;
    this.connects++;
    const ws = new WebSocket(`${base}/ws?user=${encodeURIComponent(this.id)}`);
    this.#ws = ws;
    ws.on('message', (data) => this.#onFrame(ws, String(data)));
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.node = null;
      this.#retry();
    });
  }

  #onFrame(ws: WebSocket, text: string): void {
    const frame = JSON.parse(text) as ServerFrame;
    if (frame.type === 'welcome') {
      this.node = frame.node;
      this.#attempt = 0;
    } else if (frame.type === 'move') {
      this.moves++;
      this.node = null; // the node closes the socket next
      this.#moved = true;
      this.#moveUrl = frame.url === '' ? null : frame.url;
    } else if (frame.type === 'msg') {
      this.#o.onMessage(this.id, frame);
      const ack: ClientFrame = { type: 'ack', id: frame.id };
      ws.send(JSON.stringify(ack));
    }
  }

  #retry(): void {
    if (this.#stopped) return;
    const delay = backoff(this.#attempt++, this.#moved ? MOVE_BASE_MS : DROP_BASE_MS);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}

/** N users, spread over the gateways. */
export class UserPool {
  readonly users: User[];

  constructor(count: number, options: { gateways: readonly string[]; via: Via | 'mixed'; onMessage: UserOptions['onMessage']; agent?: Agent }) {
    this.users = Array.from({ length: count }, (_, i) => {
      const via: Via = options.via === 'mixed' ? (i % 2 === 0 ? 'proxy' : 'route') : options.via;
      const gateway = options.gateways[i % options.gateways.length]!;
      return new User(`user-${i}`, { gateway, via, onMessage: options.onMessage, ...(options.agent ? { agent: options.agent } : {}) });
    });
  }

  /** Connects everyone, a batch at a time so the servers' accept queues never overflow. */
  async start(batch = 200): Promise<void> {
    for (let i = 0; i < this.users.length; i += batch) {
      for (const user of this.users.slice(i, i + batch)) user.start();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Users currently welcomed by a node. */
  settled(): number {
    return this.users.reduce((n, user) => n + (user.node !== null ? 1 : 0), 0);
  }

  /** Waits until each of `users` is connected to a node other than `not`. */
  async waitSettled(timeoutMs: number, users: readonly User[] = this.users, not?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const away = (user: User) => user.node === null || user.node === not;
    while (users.some(away)) {
      if (Date.now() > deadline) throw new Error(`${users.filter(away).length} users still not connected after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stop(): void {
    for (const user of this.users) user.stop();
  }
}
