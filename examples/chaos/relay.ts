/**
 * TCP relays for a store the user runs (`--redis`, `--sentinel`): the parts
 * live in network namespaces that cannot reach a server bound to the host's
 * loopback (or any address only the host routes to), so the runner listens
 * on the store's address, one port per real address, and pipes every
 * connection to it, bytes untouched (credentials and TLS pass through). A
 * partition from the store cuts the store's address, and with it every relay.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export class Relays {
  /** The address the relays listen on (the store's). */
  readonly host: string;
  readonly #relays = new Map<string, { server: Server; to: Address; relay: Address }>();
  readonly #pending = new Map<string, Promise<Address>>();
  readonly #sockets = new Set<Socket>();
  #closed = false;

  constructor(host: string) {
    this.host = host;
  }

  /** The relay for `to` (`host:port` as Sentinel names it), started on a free port of the store's address the first time. */
  add(to: Address): Promise<Address> {
    const key = addressKey(to);
    const known = this.#relays.get(key);
    if (known !== undefined) return Promise.resolve(known.relay);
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#listen(to).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** The relay of `to`, if one was started. */
  get(to: Address): Address | undefined {
    return this.#relays.get(addressKey(to))?.relay;
  }

  /** Every relay as ioredis's `natMap` takes it: the real `host:port` to the relay's `{ host, port }`. */
  natMap(): Record<string, Address> {
    return Object.fromEntries([...this.#relays].map(([key, r]) => [key, r.relay]));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#pending.values());
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([...this.#relays.values()].map((r) => new Promise<void>((resolve) => r.server.close(() => resolve()))));
    this.#relays.clear();
  }

  async #listen(to: Address): Promise<Address> {
    if (this.#closed) throw new Error('the relays are closed');
    const server = createServer((client) => this.#pipe(client, to));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => resolve());
    });
    const relay = { host: this.host, port: (server.address() as { port: number }).port };
    this.#relays.set(addressKey(to), { server, to, relay });
    return relay;
  }

  #pipe(client: Socket, to: Address): void {
    const upstream = connect(to.port, to.host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

/** `host:port`, as Sentinel's replies and ioredis's `natMap` keys spell an address. */
export function addressKey(a: Address): string {
  return `${a.host}:${a.port}`;
}
