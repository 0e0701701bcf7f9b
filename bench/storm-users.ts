/**
 * A share of the connection-storm benchmark's users (bench/storm.ts), in its
 * own process (a process holds at most `ulimit -n` sockets: the storm gives
 * each at most 15,000 users). Each user is a `ws` WebSocket to the gateway
 * (`/ws?user=u<i>`, plus `&token=` under JWT) bound to one of the run's
 * source addresses (127.0.0.2, 127.0.0.3, ...: about 28,000 ephemeral ports
 * each) by ws's `localAddress`. On `go` every user arrives at a uniform
 * random time within `spreadMs` of `startAt` and connects; it is connected
 * when its node's welcome frame arrives, and answers the node's pings.
 *
 * A failed attempt (an HTTP answer other than 101, a connect error, no
 * handshake within `handshakeTimeoutMs`, a close before the welcome) is
 * counted by kind and retried after ringroute/client's backoff: full
 * jitter, uniform in [0, min(maxBackoffMs, backoffMs x 2^k)) for the k-th
 * failure in a row, and at least `Retry-After` (plus up to half of it) when
 * the refusal carried one: the same rule as `SessionClient`. A session that
 * drops after its welcome is counted and reconnects the same way.
 *
 * Pushes `{ type: 'status', connected }` every 250 ms after `go`; answers
 * `{ type: 'report' }` with every arrival and first-connect time, attempts
 * and refusals; `{ type: 'stop' }` resets every socket (RST, so no
 * TIME_WAIT is left behind) and exits.
 */
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { fullJitter, parseRetryAfter, retryAfterDelay } from '../src/client/index.js';

/** What the storm passes to a users process. */
export interface UsersConfig {
  /** Users u<from> .. u<from + count - 1>. */
  readonly from: number;
  readonly count: number;
  readonly port: number;
  readonly sources: readonly string[];
  readonly auth: 'insecure' | 'jwt';
  readonly secret: string;
  readonly spreadMs: number;
  readonly handshakeTimeoutMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly seed: number;
}

/** What a users process reports at the end of a run. */
export interface UsersReport {
  readonly arrivals: number[];
  /** First connect of every user that connected. */
  readonly connects: number[];
  /** Per user that arrived: how late its first attempt started (this process's own lag). */
  readonly lags: number[];
  /** When each user's first attempt really began (users that never started are left out): the backlog the gateway saw. */
  readonly started: number[];
  readonly attempts: number[];
  readonly refusals: Record<string, number>;
  /** Sessions that closed after their welcome. */
  readonly dropped: number;
  /** Users connected now. */
  readonly up: number;
  readonly cpuSeconds: number;
}

const config = JSON.parse(process.argv[2]!) as UsersConfig;
const n = config.count;
const now = (): number => performance.timeOrigin + performance.now();
const arrival = new Float64Array(n);
const connectedAt = new Float64Array(n);
/** When the first attempt really started: later than the arrival when this process falls behind. */
const startedAt = new Float64Array(n);
const attempts = new Uint32Array(n);
const failures = new Uint16Array(n);
const sockets = new Array<WebSocket | undefined>(n);
const refusals: Record<string, number> = {};
const tokens: string[] = [];
let dropped = 0;
let up = 0;
let stopped = false;
let random = config.seed >>> 0 || 1;
/** xorshift32: the arrivals are the same for a seed. */
const next = (): number => {
  random ^= random << 13;
  random ^= random >>> 17;
  random ^= random << 5;
  return (random >>> 0) / 2 ** 32;
};

if (config.auth === 'jwt') {
  const { SignJWT } = await import('jose');
  const key = new TextEncoder().encode(config.secret);
  for (let i = 0; i < n; i++) {
    tokens.push(await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(`u${config.from + i}`).setExpirationTime('2h').sign(key));
  }
}

/**
 * Compiles the client's code before the storm: 300 connections to a
 * throwaway server in this process, so the first users do not wait for the
 * JIT (the gateways are warmed the same way).
 */
async function warmUp(): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => ws.send('{"t":"welcome","v":1,"node":"warm"}'));
  const port = (wss.address() as { port: number }).port;
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next++ < 300) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?user=warm`, { localAddress: config.sources[0]!, perMessageDeflate: false });
        ws.on('message', () => ws.terminate());
        ws.on('error', () => undefined);
        ws.on('close', () => resolve());
      });
    }
  }));
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

function kindOf(error: Error & { code?: string }): string {
  if (/handshake has timed out/i.test(error.message)) return 'timeout';
  return error.code ?? error.message.slice(0, 60);
}

function retry(i: number, retryAfterMs: number | null): void {
  if (stopped) return;
  const backoff = fullJitter(failures[i]!++, config.backoffMs, config.maxBackoffMs, Math.random);
  // The larger of the two, as SessionClient does: a Retry-After of 0 must not turn off the backoff.
  const delay = retryAfterMs === null ? backoff : Math.max(backoff, retryAfterDelay(retryAfterMs, Math.random));
  setTimeout(() => connect(i), delay);
}

function connect(i: number): void {
  if (stopped) return;
  if (attempts[i] === 0) startedAt[i] = now();
  attempts[i]!++;
  const user = `u${config.from + i}`;
  const url = `ws://127.0.0.1:${config.port}/ws?user=${user}${config.auth === 'jwt' ? `&token=${tokens[i]}` : ''}`;
  const ws = new WebSocket(url, { localAddress: config.sources[i % config.sources.length]!, handshakeTimeout: config.handshakeTimeoutMs, perMessageDeflate: false, followRedirects: false });
  sockets[i] = ws;
  let settled = false;
  let welcomed = false;
  const fail = (kind: string, retryAfterMs: number | null): void => {
    if (settled) return;
    settled = true;
    sockets[i] = undefined;
    refusals[kind] = (refusals[kind] ?? 0) + 1;
    retry(i, retryAfterMs);
  };
  ws.on('unexpected-response', (_req, res) => {
    fail(`HTTP ${res.statusCode}`, parseRetryAfter(res.headers['retry-after'], Date.now(), config.maxBackoffMs));
    ws.terminate();
  });
  ws.on('error', (error) => fail(kindOf(error), null));
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '{"t":"ping"}') return ws.send('{"t":"pong"}');
    if (!welcomed && text.startsWith('{"t":"welcome"')) {
      welcomed = true;
      settled = true;
      failures[i] = 0;
      if (connectedAt[i] === 0) connectedAt[i] = now();
      up++;
    }
  });
  ws.on('close', (code) => {
    if (!welcomed) return fail(`close ${code}`, null);
    up--;
    sockets[i] = undefined;
    if (stopped) return;
    dropped++;
    retry(i, null);
  });
}

function go(startAt: number): void {
  for (let i = 0; i < n; i++) arrival[i] = startAt + next() * config.spreadMs;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => arrival[a]! - arrival[b]!);
  let k = 0;
  // A few connects at a time, then back to the event loop: welcomes are read (and timed) while arrivals go on.
  const tick = (): void => {
    const t = now();
    for (let batch = 0; batch < 8 && k < n && arrival[order[k]!]! <= t; batch++) connect(order[k++]!);
    if (k === n) return;
    if (arrival[order[k]!]! <= now()) setImmediate(tick);
    else setTimeout(tick, 1);
  };
  setTimeout(tick, Math.max(0, startAt - now()));
  setInterval(() => process.send!({ type: 'status', connected: up }), 250).unref();
}

function report(): UsersReport {
  const connects: number[] = [];
  for (const t of connectedAt) if (t > 0) connects.push(t);
  const lags: number[] = [];
  const started: number[] = [];
  for (let i = 0; i < n; i++) {
    if (startedAt[i]! <= 0) continue;
    lags.push(startedAt[i]! - arrival[i]!);
    started.push(startedAt[i]!);
  }
  const cpu = process.cpuUsage();
  return { arrivals: Array.from(arrival), connects, lags, started, attempts: Array.from(attempts), refusals, dropped, up, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

process.on('message', (message: { type: string; startAt?: number }) => {
  if (message.type === 'go') go(message.startAt!);
  if (message.type === 'report') process.send!({ type: 'report', report: report() });
  if (message.type === 'stop') {
    stopped = true;
    for (const ws of sockets) {
      if (ws === undefined) continue;
      const socket = (ws as unknown as { _socket?: Socket | null })._socket;
      if (socket) socket.resetAndDestroy();
      else ws.terminate();
    }
    setTimeout(() => process.exit(0), 100);
  }
});
process.on('disconnect', () => process.exit(0));
await warmUp();
process.send!({ type: 'ready' });
