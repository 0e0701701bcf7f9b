/**
 * The simulated users, in processes of their own (user-process.ts, forked
 * with tsx), seen from the scenario as if they were here: `users[i].node`,
 * `.moves`, `.connects`, `settled()`, `waitSettled()`. A process holds at
 * most {@link RemotePoolOptions.usersPerProcess} users (its descriptor
 * budget), so as many are started as the users need; none of them is the
 * cluster's, whose descriptors stay for the gateways and nodes.
 *
 * Each child reports every 50 ms what changed (nodes, moves, connects, first
 * welcomes) and the messages its users received, with their receipt time;
 * `onMessage` gets them in order, with that time. `flush()` resolves once
 * every child has sent all it had: call it before reading the ground truth.
 * Children exit when this process goes away (their IPC channel closes), and
 * are killed when it exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MessageFrame, Via } from './client.js';
import type { ProcessFigures } from './process-stats.js';
import type { ClientTotals, UserCommand, UserProcessConfig, UserReport } from './user-process.js';

const ENTRY = fileURLToPath(new URL('./user-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** Users per loopback source address: well under its ~28,000 ephemeral ports, with room for reconnects and /route requests. */
const USERS_PER_ADDRESS = 5000;

/** One user as the scenario sees it (updated from its process's reports). */
export class RemoteUser {
  node: string | null = null;
  moves = 0;
  connects = 0;
  /** First welcome, in ms since the epoch; 0 before it. */
  welcomedAt = 0;

  constructor(readonly id: string) {}
}

export interface RemotePoolOptions {
  readonly gateways: readonly string[];
  readonly via: Via | 'mixed';
  /** Every message a user received, first copy or not, with the receipt time on this process's `performance.now()` clock. */
  readonly onMessage: (user: string, frame: MessageFrame, receivedAt: number) => void;
  /** The token secret (absent: an insecure cluster, no tokens). */
  readonly secret?: string;
  /** Most users in one process. */
  readonly usersPerProcess: number;
  /** Users started per second, over all processes. */
  readonly ratePerSecond: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /**
   * Source addresses of the users' sockets, used in turn by the processes.
   * @default loopback addresses from 127.0.0.2, one per 5,000 users
   */
  readonly sources?: readonly string[];
  readonly log?: (line: string) => void;
}

/** What a user process reports at the end: its clients' counters and its own figures. */
export interface UserProcessStats {
  readonly part: string;
  readonly clients: ClientTotals;
  readonly process: ProcessFigures;
}

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly users: number;
}

/** The loopback address number `a` (0, 1, ...): 127.0.0.2, 127.0.0.3, ... */
export function sourceAddress(a: number): string {
  return `127.0.${Math.floor(a / 250)}.${2 + (a % 250)}`;
}

export class RemotePool {
  readonly users: RemoteUser[];
  readonly #o: RemotePoolOptions;
  readonly #children: Child[] = [];
  #failure: string | null = null;
  #stopping = false;
  #seq = 0;
  #startedAt = 0;
  readonly #killAll = (): void => {
    for (const child of this.#children) child.process.kill('SIGKILL');
  };

  constructor(count: number, options: RemotePoolOptions) {
    this.#o = options;
    this.users = Array.from({ length: count }, (_, i) => new RemoteUser(`user-${i}`));
  }

  /** User processes (started or to start). */
  get processes(): number {
    return Math.max(1, Math.ceil(this.users.length / this.#o.usersPerProcess));
  }

  /** When `start` told the processes to go, in ms since the epoch. */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** Forks the user processes, waits until each is ready, then starts every user at the configured rate (resolves at once, before they connect). */
  async start(): Promise<void> {
    process.once('exit', this.#killAll);
    const n = this.processes;
    const per = Math.ceil(this.users.length / n);
    let address = 0;
    const ready: Array<Promise<void>> = [];
    for (let p = 0; p < n; p++) {
      const from = p * per;
      const count = Math.min(per, this.users.length - from);
      const addresses = Math.max(1, Math.ceil(count / USERS_PER_ADDRESS));
      const sources = this.#o.sources ?? Array.from({ length: addresses }, () => sourceAddress(address++));
      const config: UserProcessConfig = {
        from, count, gateways: this.#o.gateways, via: this.#o.via, sources, ratePerSecond: Math.max(1, this.#o.ratePerSecond / n),
        backoffMs: this.#o.backoffMs, maxBackoffMs: this.#o.maxBackoffMs, ...(this.#o.secret === undefined ? { insecure: true } : {}),
      };
      ready.push(this.#fork(`users-${p + 1}`, config));
    }
    await Promise.all(ready);
    this.#startedAt = performance.timeOrigin + performance.now();
    for (const child of this.#children) this.#send(child, { t: 'start' });
  }

  /** Users currently welcomed by a node. */
  settled(): number {
    return this.users.reduce((n, user) => n + (user.node !== null ? 1 : 0), 0);
  }

  /** Waits until each of `users` is connected to a node other than `not`. @throws when a user process died */
  async waitSettled(timeoutMs: number, users: readonly RemoteUser[] = this.users, not?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const away = (user: RemoteUser) => user.node === null || user.node === not;
    while (users.some(away)) {
      if (this.#failure !== null) throw new Error(this.#failure);
      if (Date.now() > deadline) throw new Error(`${users.filter(away).length} users still not connected after ${timeoutMs} ms (${await this.describe()})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** What the processes themselves see, in one line: tells a lost report from a user that cannot connect. */
  async describe(): Promise<string> {
    return this.stats().then(
      (all) => all.map(({ part, clients: c }) => `${part}: ${c.connected}/${c.users} connected, ${c.connects} attempts, ${c.failures} failed, ${c.redirects} redirects, refused ${JSON.stringify(c.refusals)}`).join('; '),
      (error: unknown) => (error as Error).message,
    );
  }

  /** Resolves once every process has reported everything its users saw before this call. */
  async flush(): Promise<void> {
    await Promise.all(this.#children.map((child) => this.#ask(child, 'flush')));
  }

  /** The clients' counters and the figures of each user process. */
  async stats(): Promise<UserProcessStats[]> {
    return Promise.all(this.#children.map(async (child) => {
      const answer = (await this.#ask(child, 'stats')) as Extract<UserReport, { t: 'stats' }>;
      return { part: child.name, clients: answer.clients, process: answer.process };
    }));
  }

  /** Stops every user and ends the processes (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#children.map(async ({ process: child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ t: 'stop' } satisfies UserCommand);
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }));
    process.off('exit', this.#killAll);
  }

  #fork(name: string, config: UserProcessConfig): Promise<void> {
    // The secret goes in the environment, never on the command line (readable by every local user in ps).
    const env = { ...process.env, ...(this.#o.secret !== undefined ? { RINGROUTE_SECRET: this.#o.secret } : {}) };
    const child = fork(ENTRY, [JSON.stringify(config)], { cwd: ROOT, env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    child.setMaxListeners(50);
    this.#children.push({ name, process: child, users: config.count });
    child.stderr?.on('data', (chunk: Buffer) => this.#o.log?.(`[${name}] ${chunk.toString().trimEnd()}`));
    child.on('message', (report: UserReport) => {
      if (report.t === 'batch') this.#batch(report);
    });
    child.once('exit', (code, signal) => {
      if (!this.#stopping) this.#failure ??= `user process ${name} exited (${signal ?? code})`;
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.on('message', (report: UserReport) => {
        if (report.t !== 'ready' && report.t !== 'failed') return;
        clearTimeout(timer);
        if (report.t === 'ready') resolve();
        else reject(new Error(`${name} failed to start: ${report.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited during start (${signal ?? code})`));
      });
    });
  }

  #batch(report: Extract<UserReport, { t: 'batch' }>): void {
    for (const [i, node, moves, connects] of report.changes) {
      const user = this.users[i]!;
      user.node = node;
      user.moves = moves;
      user.connects = connects;
    }
    for (const [i, at] of report.welcomed) this.users[i]!.welcomedAt = at;
    for (const [i, id, from, group, text, at] of report.receipts) {
      const to = `user-${i}`;
      this.#o.onMessage(to, { id, from, to, text, ...(group !== null ? { group } : {}) }, at - performance.timeOrigin);
    }
  }

  #send(child: Child, command: UserCommand): void {
    if (child.process.connected) child.process.send(command);
  }

  /** Sends `type` with a fresh sequence number and waits for the answer carrying it (IPC keeps order: everything sent before it has arrived). */
  #ask(child: Child, type: 'flush' | 'stats', timeoutMs = 30_000): Promise<UserReport> {
    const seq = ++this.#seq;
    const answer = type === 'flush' ? 'flushed' : 'stats';
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        child.process.off('message', onMessage);
        child.process.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${child.name} did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onExit = (): void => {
        done();
        reject(new Error(`${child.name} exited before answering ${type}`));
      };
      const onMessage = (report: UserReport): void => {
        if (report.t !== answer || report.seq !== seq) return;
        done();
        resolve(report);
      };
      child.process.on('message', onMessage);
      child.process.once('exit', onExit);
      this.#send(child, { t: type, seq });
    });
  }
}
