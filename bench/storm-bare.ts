/**
 * The floor under ringroute's gateway in the connection-storm benchmark: a
 * bare `node:net` proxy with none of the gateway's work. It reads the
 * request head, takes `user=` from the request line, looks the owner up in
 * the same ring, connects, writes the head and pipes the two sockets. No
 * HTTP parser, no admission, no descriptor budget, no timeouts, no
 * authentication: what any Node proxy of one connection per tunnel pays
 * (accept, connect, the writes, two sockets' streams). `--gateways=node-bare`
 * runs it beside the others; the difference between its CPU per 1,000
 * upgrades and ringroute's is what ringroute's own code costs, and the
 * difference from nginx's is Node's.
 *
 * `node-http-bare` is the same tunnel behind `node:http`'s `upgrade` event
 * (Node's HTTP parser and `IncomingMessage`, nothing else of ringroute's):
 * what the HTTP layer alone adds.
 */
import { createServer as createHttpServer } from 'node:http';
import { type Socket, connect, createServer } from 'node:net';
import type { Duplex } from 'node:stream';

/** What the bare proxies need of a router. */
interface Lookup {
  lookup(key: string): { readonly meta?: Readonly<Record<string, string>> };
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 16 * 1024;

/** Starts the bare proxy on 127.0.0.1 (any free port); resolves to its port. */
export async function startBareProxy(router: Lookup): Promise<{ port: number }> {
  const server = createServer((client: Socket) => {
    client.on('error', () => client.destroy());
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.indexOf(HEAD_END) < 0) {
        if (head.length > MAX_HEAD) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const line = head.toString('latin1', 0, head.indexOf('\r\n'));
      const user = /[?&]user=([^& ]+)/.exec(line)?.[1];
      if (user === undefined) return void client.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      const url = new URL(String(router.lookup(decodeURIComponent(user)).meta?.url));
      const upstream = connect({ host: url.hostname, port: Number(url.port) });
      upstream.on('error', () => client.destroy());
      upstream.once('connect', () => {
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return { port: (server.address() as { port: number }).port };
}

/** The same tunnel behind `node:http`'s upgrade event: Node's HTTP parsing, none of ringroute's work. */
export async function startHttpBareProxy(router: Lookup): Promise<{ port: number }> {
  const server = createHttpServer();
  server.on('upgrade', (req, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    const user = /[?&]user=([^&]+)/.exec(req.url ?? '')?.[1];
    if (user === undefined) return void client.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    const url = new URL(String(router.lookup(decodeURIComponent(user)).meta?.url));
    const upstream = connect({ host: url.hostname, port: Number(url.port) });
    upstream.on('error', () => client.destroy());
    upstream.once('connect', () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return { port: (server.address() as { port: number }).port };
}
