/**
 * Entry point of one user process: a share of the simulated users (client.ts
 * `User`, a SessionClient each), never in the cluster's processes. Started
 * by remote-pool.ts with its config as JSON in argv[2] and the token secret
 * in its environment (`RINGROUTE_SECRET`, never on a command line).
 *
 * Its users' sockets are spread over the loopback source addresses it is
 * given (127.0.0.2, 127.0.0.3, ...): a source address has about 28,000
 * ephemeral ports, so 100,000 connections need several. On `start` it
 * starts its users at `ratePerSecond`, a few every 20 ms, with at most half
 * a second's worth connecting (started, not yet welcomed); every 50 ms it
 * reports to its parent, in one IPC message, what changed: each changed
 * user's node, moves and connects, first welcomes, and the messages
 * received (with their receipt time on the shared clock), so the parent's
 * Traffic records them exactly as if the users were its own. `flush`
 * answers once everything before it was sent; `stats` answers with the
 * clients' counters and this process's figures; `stop` closes every user
 * and exits. It exits too when its parent goes away (the IPC channel
 * closes).
 */
import { Agent } from 'node:http';
import { TokenSigner } from './auth.js';
import { type MessageFrame, User, type Via, gatewayOf } from './client.js';
import { type ProcessFigures, epochNow, processFigures, startProcessSampler } from './process-stats.js';

export interface UserProcessConfig {
  /** Users `user-<from>` .. `user-<from + count - 1>`. */
  readonly from: number;
  readonly count: number;
  /** Gateways' base URLs; see {@link gatewayOf}. */
  readonly gateways: readonly string[];
  readonly via: Via | 'mixed';
  /** Loopback source addresses; user i binds to address i mod their number. */
  readonly sources: readonly string[];
  /** Users started per second. */
  readonly ratePerSecond: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** An insecure cluster: no tokens. */
  readonly insecure?: boolean;
}

/** The clients' counters, summed over a process's users. */
export interface ClientTotals {
  readonly users: number;
  readonly connected: number;
  readonly connects: number;
  readonly welcomes: number;
  /** Upgrades answered with an HTTP status instead of 101, by status. */
  readonly refusals: Record<string, number>;
  readonly failures: number;
  readonly redirects: number;
}

/** From parent to child. */
export type UserCommand = { t: 'start' } | { t: 'flush'; seq: number } | { t: 'stats'; seq: number } | { t: 'stop' };

/** `[user index, node or null, moves, connects]` */
export type UserChange = [number, string | null, number, number];
/** `[user index, message id, from, group or null, text, received at (epoch ms)]` */
export type Receipt = [number, string, string, string | null, string, number];

/** From child to parent. */
export type UserReport =
  | { t: 'ready' }
  | { t: 'batch'; changes: UserChange[]; welcomed: Array<[number, number]>; receipts: Receipt[] }
  | { t: 'flushed'; seq: number }
  | { t: 'stats'; seq: number; clients: ClientTotals; process: ProcessFigures }
  | { t: 'failed'; error: string };

const BATCH_MS = 50;
const TICK_MS = 20;

const config = JSON.parse(process.argv[2] ?? '{}') as UserProcessConfig;
const send = (report: UserReport): void => void process.send?.(report);

function main(): void {
  startProcessSampler();
  const signer = config.insecure === true ? null : new TokenSigner(process.env.RINGROUTE_SECRET ?? '');
  const token = (user: string): Promise<string | null> => (signer === null ? Promise.resolve(null) : signer.sign(user));
  // One keep-alive pool per source address for GET /route: a handful of sockets, reused.
  const agents = config.sources.map((localAddress) => new Agent({ keepAlive: true, maxSockets: 16, localAddress }));
  const changed = new Set<number>();
  const welcomed: Array<[number, number]> = [];
  const hasWelcomed = new Set<number>();
  let receipts: Receipt[] = [];
  const users: User[] = [];
  for (let k = 0; k < config.count; k++) {
    const i = config.from + k;
    const via: Via = config.via === 'mixed' ? (i % 2 === 0 ? 'proxy' : 'route') : config.via;
    const source = k % config.sources.length;
    const onMessage = (user: string, frame: MessageFrame): void => void receipts.push([i, frame.id, frame.from, frame.group ?? null, frame.text, epochNow()]);
    users.push(new User(`user-${i}`, {
      gateway: config.gateways[gatewayOf(i, config.via, config.gateways.length)]!, via, token, onMessage, agent: agents[source]!, localAddress: config.sources[source]!,
      backoffMs: config.backoffMs, maxBackoffMs: config.maxBackoffMs,
      onChange: (user) => {
        changed.add(k);
        if (user.node !== null && !hasWelcomed.has(k)) {
          hasWelcomed.add(k);
          welcomed.push([i, epochNow()]);
        }
      },
    }));
  }

  const flush = (): void => {
    if (changed.size === 0 && welcomed.length === 0 && receipts.length === 0) return;
    const changes: UserChange[] = [...changed].map((k) => {
      const user = users[k]!;
      return [config.from + k, user.node, user.moves, user.connects];
    });
    changed.clear();
    send({ t: 'batch', changes, welcomed: welcomed.splice(0), receipts });
    receipts = [];
  };
  const batches = setInterval(flush, BATCH_MS);

  let next = 0;
  let starter: ReturnType<typeof setInterval> | undefined;
  // Users start at ratePerSecond (by the clock, not by ticks, which a busy machine delays), and never
  // more than half a second's worth at once are connecting: when the cluster accepts slower than that
  // the start waits for it instead of queueing users at its gates until they time out and retry.
  const window = Math.max(20, Math.ceil(config.ratePerSecond / 2));
  const start = (): void => {
    const began = performance.now();
    starter = setInterval(() => {
      const due = Math.min(users.length, Math.floor((config.ratePerSecond * (performance.now() - began)) / 1000) + 1);
      while (next < due && next - hasWelcomed.size < window) users[next++]!.start();
      if (next >= users.length) clearInterval(starter);
    }, TICK_MS);
  };

  const totals = (): ClientTotals => {
    const refusals: Record<string, number> = {};
    let connected = 0, connects = 0, welcomes = 0, failures = 0, redirects = 0;
    for (const user of users) {
      const s = user.stats();
      if (user.node !== null) connected++;
      connects += s.connects;
      welcomes += s.welcomes;
      failures += s.failures;
      redirects += s.redirects;
      for (const [status, n] of Object.entries(s.refusals)) refusals[status] = (refusals[status] ?? 0) + n;
    }
    return { users: users.length, connected, connects, welcomes, refusals, failures, redirects };
  };

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(starter);
    clearInterval(batches);
    for (const user of users) user.stop();
    for (const agent of agents) agent.destroy();
    // Let the close frames go out, then leave: the kernel closes whatever is left.
    setTimeout(() => process.exit(0), 500).unref();
  };

  process.on('message', (command: UserCommand) => {
    if (command.t === 'start') start();
    if (command.t === 'flush') {
      flush();
      send({ t: 'flushed', seq: command.seq });
    }
    if (command.t === 'stats') {
      send({ t: 'stats', seq: command.seq, clients: totals(), process: processFigures() });
    }
    if (command.t === 'stop') stop();
  });
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group: the parent orders the stop
  process.on('SIGTERM', stop);
  process.on('disconnect', () => process.exit(0)); // the parent died: never linger
  send({ t: 'ready' });
}

try {
  main();
} catch (error) {
  send({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
