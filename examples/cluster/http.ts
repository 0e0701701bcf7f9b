/** Small JSON-over-HTTP helpers shared by the gateway, the nodes and the load generator. */
import { type Agent, type IncomingMessage, type ServerResponse, request } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON object body of at most 64 KiB. @throws HttpError 400/413 */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
  return body as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** Runs `handler`, turning thrown HttpErrors (and anything else, as 500) into JSON errors. */
export function handleJson(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = error instanceof HttpError ? error.status : 500;
      sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  };
}

/** `GET`/`POST` a JSON request; resolves to the parsed body of a 2xx answer. @throws Error on other answers */
export function requestJson<T>(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  options: { agent?: Agent; timeoutMs?: number; token?: string } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = {};
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const req = request(url, { method, headers, ...(options.agent ? { agent: options.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) return reject(new Error(`${method} ${url}: ${status} ${text}`));
        try {
          resolve(JSON.parse(text) as T);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Any answer, as status and parsed body (for the attack phase, which expects refusals). */
export function requestStatus(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; raw?: string; timeoutMs?: number; agent?: Agent } = {},
): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  return new Promise((resolve, reject) => {
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const req = request(url, { method, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          body = {};
        }
        const retry = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body, retryAfter: typeof retry === 'string' ? retry : null });
      });
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
