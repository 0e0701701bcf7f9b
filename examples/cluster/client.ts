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
 *
 * The scenario runs its users in processes of their own (user-process.ts,
 * remote-pool.ts); a `localAddress` binds a user's sockets to one loopback
 * source address, so that many users do not run out of ephemeral ports.
 */
import { type Agent } from 'node:http';
import { SessionClient, type SessionClientStats, type WebSocketConstructor } from 'ringroute/client';
import { WebSocket } from 'ws';
import { requestJson } from './http.js';
import type { ChatPayload } from './protocol.js';

export type Via = 'proxy' | 'route';

/**
 * The gateway of user i (an index into the gateways): the users of each kind
 * spread evenly over the gateways, so each holds its share of the proxied
 * users' tunnels (with `mixed`, i mod 2 picks the kind, so i mod gateways
 * would give every proxied user the same gateway when there are two).
 */
export function gatewayOf(i: number, via: Via | 'mixed', gateways: number): number {
  return (via === 'mixed' ? Math.floor(i / 2) : i) % gateways;
}

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
  /** For `GET /route`: give it the same `localAddress` as the user's. */
  readonly agent?: Agent;
  /** Source address of the user's WebSockets (e.g. `127.0.0.2`): each one has about 28,000 ephemeral ports. @default the system's choice */
  readonly localAddress?: string;
  /** SessionClient's backoff. @default 200 */
  readonly backoffMs?: number;
  /** @default 2000 */
  readonly maxBackoffMs?: number;
  /** Called when the user's node (or null, while reconnecting) or its move count changes. */
  readonly onChange?: (user: User) => void;
}

/** `ws`'s WebSocket bound to `localAddress`, with no compression (the nodes do not offer it). */
function boundWebSocket(localAddress: string | undefined): WebSocketConstructor {
  const options = { perMessageDeflate: false, ...(localAddress !== undefined ? { localAddress } : {}) };
  return class extends WebSocket {
    constructor(url: string) {
      super(url, options);
    }
  } as unknown as WebSocketConstructor;
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
      WebSocket: boundWebSocket(options.localAddress),
      backoffMs: options.backoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 2000,
    });
    this.#client.on('error', () => undefined); // failed /route requests: the client backs off and retries
    this.#client.on('move', () => {
      this.moves++;
      options.onChange?.(this);
    });
    if (options.onChange !== undefined) {
      const changed = options.onChange;
      this.#client.on('welcome', () => changed(this));
      this.#client.on('disconnect', () => changed(this));
    }
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

  /** The client's counters: welcomes, refusals by HTTP status, failures, redirects. */
  stats(): SessionClientStats {
    return this.#client.stats();
  }

  start(): void {
    this.#client.start();
  }

  stop(): void {
    this.#client.close();
  }
}
