/**
 * The attack phase of the scenario: every attack the example once let
 * through, run against the live cluster while the legitimate traffic goes
 * on. Each attack reports what was tried, what the cluster answered, and
 * whether that is a refusal. Meanwhile `GET /healthz` is timed on a
 * gateway every 25 ms, from a thread of its own (health-probe.ts): an attack
 * must never make the gateway slow for everyone else.
 */
import { Agent, request as httpRequest } from 'node:http';
import { type Socket, connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { RingRouter } from 'ringroute';
import { TokenSigner, randomSecret } from './auth.js';
import type { ClusterHandle } from './cluster.js';
import { type HealthFigures, startHealthProbe } from './health-probe.js';
import { requestStatus } from './http.js';

export interface AttackResult {
  readonly name: string;
  /** What the attacker tried. */
  readonly tried: string;
  /** What the cluster answered. */
  readonly answer: string;
  /** The attack was refused (or, for the id clash, had no effect on anyone else). */
  readonly refused: boolean;
  /** Slowest `GET /healthz` answer while it ran, in ms (0: no probe finished meanwhile). */
  readonly healthzMaxMs: number;
}

export interface AttackReport {
  readonly results: AttackResult[];
  /** `GET /healthz` on the first gateway during the phase. */
  readonly healthz: HealthFigures;
  /** The same over {@link BASELINE_MS} just before the phase, with the same legitimate traffic and no attack. */
  readonly baseline: HealthFigures;
  /** The phase's p99 must stay within this: {@link HEALTHZ_P99_LIMIT_MS}, or twice the baseline's p99 on a machine already that slow. */
  readonly healthzLimitMs: number;
  readonly durationMs: number;
}

export interface AttackOptions {
  readonly cluster: ClusterHandle;
  readonly signer: TokenSigner;
  readonly adminToken: string;
  readonly progress?: (line: string) => void;
}

/** `/healthz` must answer within this at p99 during the attack phase (or twice its p99 just before, on a slower machine). */
export const HEALTHZ_P99_LIMIT_MS = 100;

/** `/healthz` is probed this long before the attacks, for the baseline their p99 is held to. */
export const BASELINE_MS = 3000;

/** Whose identity the attacker goes after: a legitimate user of the pool. */
const VICTIM = 'user-1';
const ATTACKER = 'mallory';

export async function runAttacks(options: AttackOptions): Promise<AttackReport> {
  const { cluster, signer } = options;
  const started = performance.now();
  const results: AttackResult[] = [];
  const gw = cluster.gateways[0]!;
  const ws = gw.replace(/^http/, 'ws');
  const admin = cluster.admins[0]!;
  const mallory = await signer.sign(ATTACKER);
  // How fast /healthz answers on this machine, now, without attacks: a 2-core machine running 100,000 users is slower
  // than 100 ms at p99 before any attack, and the attacks must not make it worse than twice that.
  const quiet = startHealthProbe(gw);
  await new Promise((resolve) => setTimeout(resolve, BASELINE_MS));
  const baseline = await quiet.stop();
  const healthzLimitMs = Math.max(HEALTHZ_P99_LIMIT_MS, 2 * baseline.p99Ms);
  const health = startHealthProbe(gw);
  let since = performance.now();
  const record = (name: string, tried: string, answer: string, refused: boolean) => {
    const healthzMaxMs = health.maxSince(since);
    since = performance.now();
    results.push({ name, tried, answer, refused, healthzMaxMs });
    options.progress?.(`  attack ${name}: ${refused ? 'refused' : 'NOT REFUSED'} (${answer}; /healthz max ${healthzMaxMs} ms)`);
  };
  const slowloris = startSlowloris(gw);
  const held: Socket[] = [];
  const frozen = createTcpServer((s) => held.push(s)); // accepts, never answers: a frozen (SIGSTOPped) node
  let healthz: HealthFigures | undefined;
  const router = await cluster.router().catch(async (error: unknown) => {
    slowloris.stop();
    await health.stop();
    throw error;
  });
  try {
    // Identity
    let r = await upgrade(`${ws}/ws?user=${VICTIM}`);
    record('ws-no-token', `connect as ${VICTIM} through the gateway without a token`, r, r === '401');
    r = await upgrade(`${ws}/ws?user=${VICTIM}&token=${mallory}`);
    record('ws-someone-elses-token', `connect as ${VICTIM} with ${ATTACKER}'s valid token`, r, r === '403');
    r = await upgrade(`${ws}/ws?user=${VICTIM}&token=${await new TokenSigner(randomSecret()).sign(VICTIM)}`);
    record('ws-forged-token', `connect as ${VICTIM} with a token signed by a guessed secret`, r, r === '401');
    r = await upgrade(`${ws}/ws?user=${VICTIM}&token=${await signer.sign(VICTIM, -60)}`);
    record('ws-expired-token', `connect as ${VICTIM} with a token that expired a minute ago`, r, r === '401');
    const [nodeId, nodeUrl] = [...cluster.nodes.entries()].find(([id]) => id !== router.lookup(ATTACKER).id)!;
    r = await upgrade(`${nodeUrl}/ws?user=${VICTIM}`);
    record('node-direct-no-token', `connect as ${VICTIM} straight to app node ${nodeId}, skipping the gateway`, r, r === '401');
    r = await upgrade(`${nodeUrl}/ws?user=${ATTACKER}&token=${mallory}`);
    record('node-not-owner', `connect as ${ATTACKER} (valid token) to ${nodeId}, which does not own ${ATTACKER}`, r, r === 'closed 4002');

    // Sending
    let s = await requestStatus('POST', `${gw}/send`, { body: { from: VICTIM, to: 'user-2', text: 'forged' } });
    record('send-no-token', `POST /send as ${VICTIM} without a token`, String(s.status), s.status === 401);
    s = await requestStatus('POST', `${gw}/send`, { token: mallory, body: { from: VICTIM, to: 'user-2', text: 'forged' } });
    record('send-forged-from', `POST /send with ${ATTACKER}'s token and from: ${VICTIM}`, String(s.status), s.status === 403);
    const mallory2 = await ackingClient(`${ws}/ws?user=${ATTACKER}-2&token=${await signer.sign(`${ATTACKER}-2`)}`);
    s = await requestStatus('POST', `${gw}/send`, { token: mallory, body: { to: `${ATTACKER}-2`, text: 'clash', id: 'm1' } });
    const clashId = String(s.body.id ?? '');
    mallory2.close();
    record('message-id-clash', `POST /send reusing id "m1", which ${VICTIM}'s traffic uses`, `${s.status}, delivered as ${clashId}`, s.status === 200 && clashId === `${ATTACKER}/m1`);

    // Admin
    s = await requestStatus('POST', `${gw}/admin/mode`, { token: mallory, body: { mode: 'broadcast' } });
    record('admin-on-public-port', 'POST /admin/mode on the public port', String(s.status), s.status === 404);
    const a1 = await requestStatus('POST', `${admin}/admin/mode`, { body: { mode: 'broadcast' } });
    const a2 = await requestStatus('GET', `${admin}/stats`, { token: mallory });
    record('admin-without-admin-token', 'POST /admin/mode and GET /stats on the admin port, without / with a user token', `${a1.status}, ${a2.status}`, a1.status === 401 && a2.status === 401);
    const n0 = await requestStatus('POST', `${nodeUrl.replace(/^ws/, 'http')}/admin/strategy`, { token: mallory, body: { strategy: 'reconnect-all' } });
    const nodeAdmin = cluster.nodeAdmins.get(nodeId)!;
    const n1 = await requestStatus('POST', `${nodeAdmin}/admin/strategy`, { body: { strategy: 'reconnect-all' } });
    const n2 = await requestStatus('GET', `${nodeAdmin}/stats`, { token: mallory });
    record('node-admin', `POST /admin/strategy on app node ${nodeId}'s public port, then on its admin port without / with a user token`, `${n0.status}, ${n1.status}, ${n2.status}`, n0.status === 404 && n1.status === 401 && n2.status === 401);

    // Limits
    r = await hugeBody(gw, mallory);
    record('huge-body', 'POST /send with a 1 MiB body', r, r === '413');
    const sloth = await neverReads({ cluster, router, signer, adminToken: options.adminToken, gw, ws });
    record('never-reads', `connect as ${ATTACKER}-sloth through the gateway, stop reading, and have ${SLOTH_SENDS} messages of 4000 characters sent to it`, sloth.answer, sloth.refused);
    const groupStatuses = await Promise.all(
      Array.from({ length: 60 }, (_, g) => requestStatus('POST', `${gw}/groups/flood${g}/send`, { token: mallory, body: { members: Array.from({ length: 1000 }, (_, i) => `ghost-${i}`), text: 'x' } })),
    );
    record('group-of-1000-offline', '60 group sends of 1000 offline members each', summarize(groupStatuses.map((a) => a.status)), groupStatuses.every((a) => a.status === 413 || a.status === 429));
    const floodStart = performance.now();
    const flood = floodOffline(gw, mallory, 3000);
    const flooded = await flood.refused;
    const floodSec = (performance.now() - floodStart) / 1000;
    const turnedAway = flooded.statuses.filter((x) => x === 429 || x === 503).length;
    // The most one sender can have accepted: its burst plus its rate over the flood (gateway defaults: 40, 20/s).
    const allowed = 40 + Math.ceil(20 * floodSec);
    record('flood-offline', '3000 POST /send to offline users from one account, at once', `${summarize(flooded.statuses)}, ${flooded.waiting} accepted (at most ${allowed} allowed) and waiting for their ttl`, 3000 - turnedAway <= allowed);

    // Members: a bad URL and a frozen node, registered through the shared store as an attacker with Redis access could
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const leaves = [
      await cluster.joinMember({ id: 'evil-url', weight: 0.01, meta: { url: 'not a url' } }),
      await cluster.joinMember({ id: 'evil-frozen', weight: 0.01, meta: { url: `ws://127.0.0.1:${(frozen.address() as AddressInfo).port}` } }),
    ];
    try {
      await waitUntil(() => router.ring.has('evil-url') && router.ring.has('evil-frozen'), 10_000);
      const probe = (owner: string) => {
        for (let i = 0; i < 1_000_000; i++) if (router.lookup(`probe-${i}`).id === owner) return `probe-${i}`;
        throw new Error(`no probe key owned by ${owner}`);
      };
      const bad = probe('evil-url');
      await waitUntil(async () => (await requestStatus('GET', `${gw}/route?user=${bad}`, { token: await signer.sign(bad) })).status === 502, 10_000);
      r = await upgrade(`${ws}/ws?user=${bad}&token=${await signer.sign(bad)}`);
      const alive = (await requestStatus('GET', `${gw}/healthz`)).status;
      record('member-bad-url', `register a member with meta.url "not a url", then connect as ${bad}, whom it owns`, `${r}, gateway /healthz ${alive}`, r === '502' && alive === 200);
      const cold = probe('evil-frozen');
      const t0 = performance.now();
      r = await upgrade(`${ws}/ws?user=${cold}&token=${await signer.sign(cold)}`);
      const waited = Math.round(performance.now() - t0);
      record('member-frozen', `register a member that accepts TCP and never answers, then connect as ${cold}`, `${r} after ${waited} ms`, r === '502');
    } finally {
      for (const leave of leaves) await leave();
    }
    // The accepted flood sends finish with their ttl in the background (failed: expired); the phase does not wait for them.
    void flood.done;

    const slow = await slowloris.result;
    record('slowloris', 'open a connection and send headers one byte at a time, never finishing', slow, /^closed/.test(slow));
  } finally {
    // Also when an attack threw: nothing of the phase may outlive it (the probe's thread, the slowloris timers).
    slowloris.stop();
    for (const h of held) h.destroy();
    frozen.close();
    await router.close();
    healthz = await health.stop();
  }
  return { results, healthz, baseline, healthzLimitMs, durationMs: Math.round(performance.now() - started) };
}

/** Opens a WebSocket; answers `"<status>"` for a refused upgrade, `closed <code>` for a close before any message, `open` otherwise. */
function upgrade(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => finish('no answer in 15 s'), 15_000);
    const finish = (answer: string) => {
      clearTimeout(timer);
      socket.terminate();
      resolve(answer);
    };
    socket.once('unexpected-response', (_req, res) => finish(String(res.statusCode)));
    socket.once('close', (code) => finish(`closed ${code}`));
    socket.once('error', (error) => finish(`error ${error.message}`));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { t: string };
      if (frame.t === 'welcome') finish('open');
    });
  });
}

/** A raw client that acknowledges every message. */
async function ackingClient(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { t: string; id?: string };
      if (frame.t === 'welcome') resolve();
      if (frame.t === 'msg') socket.send(JSON.stringify({ t: 'ack', id: frame.id }));
      if (frame.t === 'ping') socket.send('{"t":"pong"}');
    });
  });
  return socket;
}

/**
 * Posts `count` one-to-one sends to offline users at once, 64 connections
 * wide. Refusals come back at once; accepted sends wait for their
 * recipients' ttl, so `refused` resolves when answers stop coming for a
 * second (with the statuses so far, the unanswered counted as accepted), and
 * `done` when every send has its answer.
 */
function floodOffline(gw: string, token: string, count: number): { refused: Promise<{ statuses: number[]; waiting: number }>; done: Promise<void> } {
  // Wide enough that the accepted sends (each holding a connection until its ttl) never starve the rest.
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const statuses: number[] = [];
  let lastAnswer = performance.now();
  const all: Array<Promise<void>> = [];
  const launched = (async () => {
    // 100 at a time: the attacker shares this process's event loop with the in-memory gateway, so
    // building 3000 requests in one tick would stall the gateway for the attacker's own work.
    for (let i = 0; i < count; i++) {
      all.push(
        requestStatus('POST', `${gw}/send`, { token, agent, body: { to: `ghost-${i}`, text: 'flood' }, timeoutMs: 60_000 })
          .then((a) => a.status)
          .catch(() => 0)
          .then((status) => {
            statuses.push(status);
            lastAnswer = performance.now();
          }),
      );
      if (i % 100 === 99) await sleep(5);
    }
  })();
  const refused = (async () => {
    await launched;
    while (statuses.length < count && performance.now() - lastAnswer < 1000) await sleep(50);
    return { statuses: [...statuses], waiting: count - statuses.length };
  })();
  return { refused, done: launched.then(() => Promise.all(all)).then(() => agent.destroy()) };
}

/** Messages sent to the client that never reads: more than its node lets a session leave unacknowledged (64). */
const SLOTH_SENDS = 80;

/**
 * A client that stops reading (its TCP socket paused) while messages are
 * sent to it: its node must close it as a slow consumer (4003) rather than
 * pin memory for it. Two attacker accounts send, 40 each (the per-sender
 * burst). The sends are answered when their ttl ends (nothing was
 * acknowledged, so none is "delivered"); the phase does not wait for them.
 */
async function neverReads(o: { cluster: ClusterHandle; router: RingRouter; signer: TokenSigner; adminToken: string; gw: string; ws: string }): Promise<{ answer: string; refused: boolean }> {
  const user = `${ATTACKER}-sloth`;
  const owner = o.router.lookup(user).id;
  const admin = o.cluster.nodeAdmins.get(owner);
  if (admin === undefined) return { answer: `no admin URL for ${owner}`, refused: false };
  const slowConsumers = async () => Number((await requestStatus('GET', `${admin}/stats`, { token: o.adminToken })).body.slowConsumers);
  const before = await slowConsumers();
  const socket = new WebSocket(`${o.ws}/ws?user=${user}&token=${await o.signer.sign(user)}`);
  socket.on('error', () => undefined);
  let code: number | null = null;
  socket.once('close', (c) => (code = c));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no welcome in 10 s')), 10_000);
      socket.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('close', (c) => reject(new Error(`closed ${c} before the welcome`)));
    });
    // Stop reading at the TCP level: frames pile up in the kernel and on the node, and nothing is acknowledged.
    const tcp = (socket as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const senders = [await o.signer.sign(`${ATTACKER}-a`), await o.signer.sign(`${ATTACKER}-b`)];
    for (let i = 0; i < SLOTH_SENDS; i++) {
      void requestStatus('POST', `${o.gw}/send`, { token: senders[i % 2]!, body: { to: user, text: 'x'.repeat(4000), id: `sloth-${i}` }, timeoutMs: 60_000 }).catch(() => undefined);
    }
    let closedBy = 0;
    const deadline = Date.now() + 10_000;
    while ((closedBy = (await slowConsumers()) - before) === 0 && Date.now() < deadline) await sleep(50);
    tcp.resume(); // read what was buffered, then the node's close frame
    await waitUntil(() => code !== null, 10_000).catch(() => undefined);
    return { answer: `${code === null ? 'still open' : `closed ${code}`} by ${owner} (slow consumers +${closedBy})`, refused: code === 4003 && closedBy === 1 };
  } catch (error) {
    return { answer: (error as Error).message, refused: false };
  } finally {
    socket.terminate();
  }
}

/**
 * Declares a 1 MiB body and sends its first 64 KiB, then waits for the
 * answer: the gateway must refuse on the declared length (413) without
 * reading the rest. Writing all of it would race the gateway's close of the
 * connection (EPIPE) and lose the answer.
 */
function hugeBody(gw: string, token: string): Promise<string> {
  const size = 1024 * 1024;
  const head = `{"to":"${VICTIM}","text":"${'x'.repeat(64 * 1024)}`.slice(0, 64 * 1024);
  return new Promise((resolve) => {
    const req = httpRequest(`${gw}/send`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(size) } }, (res) => {
      res.resume();
      finish(String(res.statusCode));
    });
    const timer = setTimeout(() => finish('no answer in 10 s'), 10_000);
    const finish = (answer: string) => {
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    req.on('error', (error: NodeJS.ErrnoException) => finish(`error ${error.code ?? error.message}`));
    req.write(head);
  });
}

/** Opens a connection that sends its headers a byte every 500 ms; `result` resolves with how the gateway ended it. */
function startSlowloris(gw: string): { result: Promise<string>; stop(): void } {
  const { hostname, port } = new URL(gw);
  let stop = (): void => undefined;
  const result = new Promise<string>((resolve) => {
    const socket = tcpConnect(Number(port), hostname);
    const started = performance.now();
    const request = 'POST /send HTTP/1.1\r\nhost: x\r\nx-padding: ' + 'a'.repeat(1000);
    let i = 0;
    let reply = '';
    const timer = setInterval(() => socket.write(request[i++ % request.length]!), 500);
    const limit = setTimeout(() => finish('still open after 30 s'), 30_000);
    const finish = (how: string) => {
      clearInterval(timer);
      clearTimeout(limit);
      socket.destroy();
      resolve(how);
    };
    socket.on('data', (d) => (reply += String(d)));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(`closed after ${Math.round(performance.now() - started)} ms${reply ? ` with ${reply.split('\r\n')[0]}` : ''}`));
    stop = () => finish('stopped');
  });
  return { result, stop: () => stop() };
}

function summarize(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${n} x ${s}`).join(', ');
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`attack phase: condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
