/** A TCP forwarder in front of a Redis, for fault tests: switch its target, hold its stream, cut it, partition it. */
import { type Server, type Socket, connect, createServer } from 'node:net';

/** One stable address in front of a Redis that can change: switching cuts every connection, clients reconnect. */
export class Forwarder {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #upstreams = new Set<Socket>();
  #target: number;
  #partitioned = false;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.#target = target;
  }

  static async start(target: number): Promise<Forwarder> {
    let forwarder!: Forwarder;
    const server = createServer((client) => forwarder.#forward(client));
    forwarder = new Forwarder(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return forwarder;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  switchTo(target: number): void {
    this.#target = target;
    for (const s of this.#sockets) s.destroy();
  }

  /** Stops passing on what the target sends (the replication stream is held: the bytes wait, undelivered). */
  hold(): void {
    for (const upstream of this.#upstreams) {
      upstream.unpipe(); // a pipe resumes its source when the destination drains
      upstream.pause();
    }
  }

  /** Cuts every connection: whatever was held is dropped with them. */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
  }

  /** A partition: cuts every connection and refuses new ones until {@link heal}. */
  partition(): void {
    this.#partitioned = true;
    this.cut();
  }

  heal(): void {
    this.#partitioned = false;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #forward(client: Socket): void {
    if (this.#partitioned) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.#target });
    this.#upstreams.add(upstream);
    upstream.once('close', () => this.#upstreams.delete(upstream));
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => {
        this.#sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

