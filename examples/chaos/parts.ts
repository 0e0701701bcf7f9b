/**
 * The cluster's gateways and app nodes as processes on their own hosts:
 * the example's process.ts, started inside the part's network namespace
 * (`ip netns exec`), listening on the host's address, on a Sentinel-managed
 * Redis. A part can be paused (SIGSTOP, then SIGCONT), killed (SIGKILL) and
 * started again on the same address, as the chaos schedule says.
 */
import { type SentinelCredentials, credentialsEnv } from '../cluster/sentinel-credentials.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProcessConfig, ProcessReport } from '../cluster/process.js';
import type { Host } from './network.js';

const ENTRY = fileURLToPath(new URL('../cluster/process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 30_000;
export const PUBLIC_PORT = 8080;
export const ADMIN_PORT = 8081;

/** What every part shares: how to reach Redis and the cluster's secrets and timings. */
export interface PartSettings {
  readonly ip: string;
  readonly prefix: string;
  /**
   * The store: Sentinels (`host:port`) and the primary's name, or a Redis URL (`--redis`). A Sentinel set the
   * user runs (`--sentinel`) adds the file of the `natMap` to the relays and the credentials, if any.
   */
  readonly redis:
    | ({ readonly sentinels: readonly string[]; readonly name: string; readonly natMapFile?: string } & SentinelCredentials)
    | { readonly url: string };
  readonly secret: string;
  readonly adminToken: string;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly graceMs: number;
  /** A folder for transport traces (`--trace`). */
  readonly traceDir?: string;
  readonly log?: (line: string) => void;
}

export class Part {
  readonly id: string;
  readonly role: 'gateway' | 'node';
  readonly host: Host;
  /** Incarnations started so far (1 after the first start). */
  incarnation = 0;
  /** Set when the part ended on its own (not by a fault or the end of the run). */
  crashed: string | null = null;
  readonly #settings: PartSettings;
  readonly #logFile: (incarnation: number) => string | undefined;
  readonly #onEnd: (incarnation: number, at: number) => void;
  #child: ChildProcess | null = null;
  #stopping = false;

  /**
   * `logFile` names the ownership log of each incarnation (nodes); `onEnd` is
   * told when each incarnation's process ended, whatever ended it (a fault, a
   * start that failed or timed out, the end of the run): its sessions end there.
   */
  constructor(
    role: 'gateway' | 'node', id: string, host: Host, settings: PartSettings,
    logFile: (incarnation: number) => string | undefined, onEnd: (incarnation: number, at: number) => void = () => undefined,
  ) {
    this.role = role;
    this.id = id;
    this.host = host;
    this.#settings = settings;
    this.#logFile = logFile;
    this.#onEnd = onEnd;
  }

  /** `http://address:8080`, the public port (gateways) or `ws://` port (nodes). */
  get url(): string {
    return `http://${this.host.address}:${PUBLIC_PORT}`;
  }

  get adminUrl(): string {
    return `http://${this.host.address}:${ADMIN_PORT}`;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts that failed (the process exited before it was ready): the runner, as a supervisor would, starts it again. */
  failedStarts = 0;

  /**
   * Starts the part and waits until it reports ready. A start that fails
   * (e.g. the store was failing over, so the node could not join) is tried
   * again after 500 ms, as systemd's or Kubernetes' restart policy would,
   * for up to `timeoutMs`.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.#startOnce();
      } catch (error) {
        this.failedStarts++;
        if (Date.now() > deadline) throw error;
        this.#settings.log?.(`[${this.id}] start failed (${(error as Error).message}): starting it again`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async #startOnce(): Promise<void> {
    this.incarnation++;
    this.#stopping = false;
    const s = this.#settings;
    const ownershipLog = this.#logFile(this.incarnation);
    const config: ProcessConfig = {
      role: this.role, id: this.id, prefix: s.prefix, strategy: 'selective', mode: 'hash',
      graceMs: s.graceMs, ttlMs: s.ttlMs, heartbeatMs: s.heartbeatMs,
      host: this.host.address, port: PUBLIC_PORT, adminPort: ADMIN_PORT,
      ...(ownershipLog !== undefined ? { ownershipLog } : {}),
      ...(s.traceDir !== undefined ? { traceFile: `${s.traceDir}/${this.id}.trace` } : {}),
    };
    const env = {
      ...process.env, RINGROUTE_SECRET: s.secret, RINGROUTE_ADMIN_TOKEN: s.adminToken,
      ...('url' in s.redis ? { RINGROUTE_REDIS_URL: s.redis.url } : { RINGROUTE_SENTINELS: s.redis.sentinels.join(','), RINGROUTE_SENTINEL_NAME: s.redis.name }),
      ...('natMapFile' in s.redis && s.redis.natMapFile !== undefined ? { RINGROUTE_SENTINEL_NATMAP: s.redis.natMapFile } : {}),
      ...('sentinels' in s.redis ? credentialsEnv(s.redis) : {}),
    };
    // `ip netns exec` execs node in the namespace: the pid is node's, so signals reach it, and the IPC channel is inherited.
    const child = spawn(s.ip, ['netns', 'exec', this.host.ns, process.execPath, '--import', 'tsx', ENTRY, JSON.stringify(config)], {
      cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child = child;
    child.stderr?.on('data', (chunk: Buffer) => s.log?.(chunk.toString().trimEnd()));
    let ready = false;
    const incarnation = this.incarnation;
    child.once('exit', (code, signal) => {
      this.#onEnd(incarnation, Date.now());
      if (this.#child === child) this.#child = null;
      if (ready && !this.#stopping) this.crashed ??= `${this.id} exited by itself (${signal ?? code})`;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.id} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.once('message', (message: ProcessReport) => {
        clearTimeout(timer);
        if (message.type === 'ready') {
          ready = true;
          resolve();
        } else reject(new Error(`${this.id} failed to start: ${message.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.id} exited during start (${signal ?? code})`));
      });
    });
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal);
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Graceful stop (the whole cluster is shutting down), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#stopping = true;
    child.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'shutdown' });
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
