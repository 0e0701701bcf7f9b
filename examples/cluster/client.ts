/**
 * Simulated users, each a `ringroute/client` SessionClient on a real
 * WebSocket (`ws`): it acknowledges every message, drops repeats by id,
 * follows "moved" and "wrong node" closes to the owner they name, and backs
 * off with full jitter on failures.
 *
 * A user connects either through the gateway (`proxy`: one step,
 * `ws://gateway/ws?user=ID&token=JWT`) or in two steps as in the article
 * (`route`: `GET /route?user=ID` with `Authorization: Bearer JWT`, then
 * straight to the node with the same token, which the node checks again).
 */
import { type Agent } from 'node:http';
import { SessionClient, type WebSocketConstructor } from 'ringroute/client';
import { WebSocket } from 'ws';
import { requestJson } from './http.js';
import type { ChatPayload } from './protocol.js';

export type Via = 'proxy' | 'route';

/** A message as a user sees it. */
export interface MessageFrame {
  readonly id: string;
  readonly from: string;
  /** The user who received it. */
  readonly to: string;
  readonly group?: string;
  readonly text: string;
}

export interface UserOptions {
  /** The user's gateway, `http://host:port`. */
  readonly gateway: string;
  readonly via: Via;
  /** Called for every new message (the client acknowledges repeats and drops them). */
  readonly onMessage: (user: string, frame: MessageFrame) => void;
  /** The user's token (null for an insecure cluster). */
  readonly token: (user: string) => Promise<string | null>;
  readonly agent?: Agent;
}

export class User {
  readonly id: string;
  moves = 0;
  readonly #client: SessionClient;

  constructor(id: string, options: UserOptions) {
    this.id = id;
    let token: Promise<string | null> | undefined;
    const query = async () => {
      const t = await (token ??= options.token(id));
      return `/ws?user=${encodeURIComponent(id)}${t === null ? '' : `&token=${t}`}`;
    };
    const viaGateway = async () => `${options.gateway.replace(/^http/, 'ws')}${await query()}`;
    const route = async (): Promise<string> => {
      const t = await (token ??= options.token(id));
      const answer = await requestJson<{ url: string | null }>('GET', `${options.gateway}/route?user=${encodeURIComponent(id)}`, undefined, {
        ...(options.agent ? { agent: options.agent } : {}),
        ...(t !== null ? { token: t } : {}),
        timeoutMs: 5000,
      });
      if (answer.url === null) throw new Error('owner has no url');
      return `${answer.url}${await query()}`;
    };
    this.#client = new SessionClient({
      url: options.via === 'proxy' ? viaGateway : route,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoffMs: 200,
      maxBackoffMs: 2000,
    });
    this.#client.on('error', () => undefined); // failed /route requests: the client backs off and retries
    this.#client.on('move', () => this.moves++);
    this.#client.on('message', (data, messageId) => {
      const payload = JSON.parse(data) as ChatPayload;
      options.onMessage(id, { id: messageId, from: payload.from, to: id, text: payload.text, ...(payload.group !== undefined ? { group: payload.group } : {}) });
    });
  }

  /** The node that welcomed the current connection, or null while (re)connecting. */
  get node(): string | null {
    return this.#client.node;
  }

  /** Connections opened so far. */
  get connects(): number {
    return this.#client.connects;
  }

  start(): void {
    this.#client.start();
  }

  stop(): void {
    this.#client.close();
  }
}

/** N users, spread over the gateways. */
export class UserPool {
  readonly users: User[];

  constructor(count: number, options: { gateways: readonly string[]; via: Via | 'mixed'; onMessage: UserOptions['onMessage']; token: UserOptions['token']; agent?: Agent }) {
    this.users = Array.from({ length: count }, (_, i) => {
      const via: Via = options.via === 'mixed' ? (i % 2 === 0 ? 'proxy' : 'route') : options.via;
      const gateway = options.gateways[i % options.gateways.length]!;
      return new User(`user-${i}`, { gateway, via, onMessage: options.onMessage, token: options.token, ...(options.agent ? { agent: options.agent } : {}) });
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
