import { createHash, timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { RingError } from '../errors.js';
import type { StatusBoard } from './status-board.js';
import { STATUS_PAGE } from './status-page.js';

/** Options of {@link statusHandler}. */
export interface StatusHandlerOptions {
  /** What the page shows. The handler never closes it. */
  readonly board: StatusBoard;
  /** Served at `GET /metrics` in Prometheus text format; without it `/metrics` is 404. */
  readonly registry?: Registry;
  /**
   * The admin token (at least 16 characters): requests need
   * `Authorization: Bearer <token>` or the cookie that opening
   * `/status?token=<token>` once sets. Required unless `insecure` is true.
   */
  readonly token?: string;
  /** Serves everything to anyone. Only for a demo bound to 127.0.0.1. @default false */
  readonly insecure?: boolean;
  /** Live pages connected at once; more get 503. @default 16 */
  readonly maxClients?: number;
  /** A page that falls this far behind (bytes not yet sent) is disconnected; it reconnects by itself. @default 1048576 */
  readonly maxBufferedBytes?: number;
}

/**
 * What the handler reads of a request: a `node:http` `IncomingMessage` fits.
 * (Declared here so that the package's types do not need `@types/node`.)
 */
export interface IncomingMessage {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: { readonly [name: string]: string | string[] | undefined };
  on(event: 'close', listener: () => void): unknown;
}

/** What the handler uses of a response: a `node:http` `ServerResponse` fits. */
export interface ServerResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): unknown;
  end(chunk?: string): unknown;
  destroy(): unknown;
  readonly writableLength: number;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** A `node:http` request handler (`http.createServer(handler)`), with `close()` to end the live streams. */
export interface StatusRequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Ends every live stream and stops listening to the board. */
  close(): void;
}

const COOKIE = 'ringroute_admin';
/** Updates to a live page are sent at most this often (bursts of events are coalesced). */
const FLUSH_MS = 100;

/**
 * Serves the status page of a {@link StatusBoard}:
 *
 * - `GET /status`: a self-contained HTML page (no external assets) that draws
 *   the ring and updates live;
 * - `GET /status/events`: the server-sent-events stream the page reads
 *   (`event: state`, the {@link StatusSnapshot} as JSON);
 * - `GET /status.json`: the snapshot once;
 * - `GET /metrics`: `registry`'s Prometheus text;
 * - `GET /healthz`: `ok`, without authentication (it reveals nothing else).
 *
 * Everything but `/healthz` needs the admin token (see `token`).
 *
 * @throws RingError `INVALID_OPTION` without a board, or without a token of 16+ characters unless `insecure: true`.
 */
export function statusHandler(options: StatusHandlerOptions): StatusRequestHandler {
  if (typeof options !== 'object' || options === null || typeof options.board?.snapshot !== 'function') throw new RingError('INVALID_OPTION', 'statusHandler() needs { board }');
  const { board, registry } = options;
  if (options.insecure !== true && (typeof options.token !== 'string' || options.token.length < 16)) {
    throw new RingError('INVALID_OPTION', 'statusHandler() needs a token of at least 16 characters (or insecure: true for a local demo)');
  }
  const expected = options.insecure === true ? null : digest(options.token!);
  const maxClients = options.maxClients ?? 16;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const clients = new Set<ServerResponse>();
  let flush: ReturnType<typeof setTimeout> | undefined;
  const send = (): void => {
    flush = undefined;
    if (clients.size === 0) return;
    const frame = `event: state\ndata: ${JSON.stringify(board.snapshot())}\n\n`;
    for (const res of clients) {
      if (res.writableLength > maxBuffered) {
        clients.delete(res);
        res.destroy();
      } else res.write(frame);
    }
  };
  const onUpdate = (): void => {
    if (flush === undefined && clients.size > 0) flush = setTimeout(send, FLUSH_MS);
  };
  board.on('update', onUpdate);

  const authorized = (req: IncomingMessage, url: URL): 'yes' | 'no' | 'via-query' => {
    if (expected === null) return 'yes';
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ') && same(digest(header.slice(7).trim()), expected)) return 'yes';
    const cookieHeader = req.headers.cookie;
    const cookie = parseCookie(typeof cookieHeader === 'string' ? cookieHeader : undefined);
    if (cookie !== undefined && same(digest(cookie), expected)) return 'yes';
    const query = url.searchParams.get('token');
    if (query !== null && same(digest(query), expected)) return 'via-query';
    return 'no';
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    if (path === '/healthz') return text(res, 200, 'ok\n');
    if (!['/status', '/status/', '/status/events', '/status.json', '/metrics'].includes(path) || (path === '/metrics' && registry === undefined)) return text(res, 404, 'not found\n');
    const auth = authorized(req, url);
    if (auth === 'no') return text(res, 401, 'admin token required: Authorization: Bearer <token>, or open /status?token=<token>\n', { 'www-authenticate': 'Bearer realm="ringroute admin"' });
    if (auth === 'via-query') {
      // Trade the token in the address bar (and in history, and in logs) for an HttpOnly cookie.
      url.searchParams.delete('token');
      res.writeHead(303, {
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${COOKIE}=${encodeURIComponent(tokenOf(req))}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      return void res.end();
    }
    if (path === '/status' || path === '/status/') {
      return text(res, 200, STATUS_PAGE, {
        'content-type': 'text/html; charset=utf-8',
        // Nothing from elsewhere, and nobody may frame it.
        'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
    }
    if (path === '/status.json') return text(res, 200, `${JSON.stringify(board.snapshot())}\n`, { 'content-type': 'application/json' });
    if (path === '/metrics') {
      registry!.metrics().then(
        (body) => text(res, 200, body, { 'content-type': registry!.contentType }),
        (error: unknown) => text(res, 500, `metrics failed: ${(error as Error)?.message ?? String(error)}\n`),
      );
      return;
    }
    // /status/events
    if (req.method === 'HEAD') return text(res, 200, '', { 'content-type': 'text/event-stream' });
    if (clients.size >= maxClients) return text(res, 503, `too many live status pages (${maxClients})\n`, { 'retry-after': '5' });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 1000\nevent: state\ndata: ${JSON.stringify(board.snapshot())}\n\n`);
    clients.add(res);
    const gone = (): void => void clients.delete(res);
    req.on('close', gone);
    res.on('error', gone);
  }) as StatusRequestHandler;
  handler.close = () => {
    board.off('update', onUpdate);
    clearTimeout(flush);
    for (const res of clients) res.end();
    clients.clear();
  };
  return handler;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b);
}

function tokenOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://status.invalid').searchParams.get('token') ?? '';
}

function parseCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}
