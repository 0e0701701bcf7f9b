/**
 * A gateway in front of real session nodes for the gateway tests: a
 * `node:http` server with a GatewayHandler, nodes from the sessions'
 * TestCluster (real `ws` servers), and HS256 tokens signed with `jose`.
 * Client URLs carry both `user` (read by the gateway) and `key` (read by
 * the test nodes).
 */
import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { type GatewayLimits, GatewayHandler, type GatewayOptions, createJwtAuthenticator, gatewayServerOptions } from '../../src/gateway/index.js';
import { TestCluster } from '../sessions/support.js';

export const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

export async function sign(sub: string | undefined, options: { expiresIn?: string | number; secret?: string; noExp?: boolean } = {}): Promise<string> {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (sub !== undefined) jwt = jwt.setSubject(sub);
  if (!options.noExp) jwt = jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

export interface TestGateway {
  readonly url: string;
  readonly ws: string;
  readonly handler: GatewayHandler;
  readonly server: Server;
  readonly errors: Error[];
  close(): Promise<void>;
}

export async function startGateway(cluster: TestCluster, limits: GatewayLimits = {}, extra: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const router = await cluster.router();
  const dispatcher = await cluster.dispatcher({ ttlMs: 2000, retryMs: 200 });
  const authenticate = await createJwtAuthenticator({ secret: SECRET });
  const handler = new GatewayHandler({ router, dispatcher, authenticate, limits, ...extra });
  const errors: Error[] = [];
  handler.on('error', (e) => errors.push(e));
  const server = createServer(gatewayServerOptions(limits), (req, res) => {
    if (!handler.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', handler.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    handler,
    server,
    errors,
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

/** One HTTP request; resolves with any status. */
export function http(method: string, url: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens a WebSocket; resolves with the first frame, or the HTTP status (and `Retry-After`) of a refused upgrade. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; retryAfter?: number; frame?: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, ...(retryAfter !== undefined ? { retryAfter: Number(retryAfter) } : {}) });
      ws.terminate();
    });
    ws.once('message', (data) => resolve({ ws, frame: JSON.parse(String(data)) as Record<string, unknown> }));
    ws.once('error', () => resolve({ status: -1 }));
  });
}
