/**
 * Private NATS servers for tests: `nats-server -js` (Debian's package puts
 * it in /usr/sbin) on a free port with its JetStream store in a temp dir,
 * never the one a machine may run on 4222; or a JetStream cluster of three on
 * loopback. Torn down with their dirs afterwards, even when a test fails or
 * the process exits early.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { findExecutable, killChild, portIsFree, stopChild, trackChild } from './server-process.js';
import { skipFor } from './skip.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;

/** The `nats-server` binary (PATH or /usr/sbin), or null. */
export const natsServerBinary = findExecutable('nats-server', ['/usr/sbin', '/usr/local/sbin']);

/**
 * Whether a suite that needs nats-server must be skipped: prints one line
 * without it, fails under CI=true. Call at module level, pass to `describe.skipIf`.
 */
export function skipWithoutNats(suite: string): boolean {
  return skipFor(suite, natsServerBinary === null ? 'no nats-server on PATH or in /usr/sbin (install the Debian package nats-server)' : null);
}


/** A random free port, never 4222. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found for nats-server');
}

/** Connects a raw socket and waits for the server's INFO line. */
async function answers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: HOST });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('INFO ')));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One `nats-server -js` process on a private port and store dir. */
export class NatsServer {
  readonly port: number;
  readonly dir: string;
  readonly #args: readonly string[];
  #child: ChildProcess | null = null;
  #log: string[] = [];

  private constructor(port: number, dir: string, args: readonly string[]) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
  }

  /** Starts a server with JetStream on a free port; `extraArgs` are appended (cluster options). */
  static async start(options: { port?: number; extraArgs?: readonly string[] } = {}): Promise<NatsServer> {
    if (natsServerBinary === null) throw new Error('nats-server is not installed');
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'ringroute-nats-'));
      const server = new NatsServer(options.port ?? (await freePort()), dir, options.extraArgs ?? []);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        await server.destroy();
        if (attempt >= 3 || options.port !== undefined) throw error;
      }
    }
  }

  /** `nats://127.0.0.1:PORT` */
  get url(): string {
    return `nats://${HOST}:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** The last lines the server logged. */
  get log(): string {
    return this.#log.join('');
  }

  async #spawn(): Promise<void> {
    const args = ['-js', '-a', HOST, '-p', String(this.port), '-sd', join(this.dir, 'store'), ...this.#args];
    const child = spawn(natsServerBinary!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    this.#child = child;
    this.#log = [];
    const keep = (chunk: Buffer): void => {
      this.#log.push(chunk.toString());
      if (this.#log.length > 200) this.#log.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.#child === child) this.#child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await answers(this.port))) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server on port ${this.port} did not start:\n${this.log.slice(-2000)}`);
      }
      await sleep(20);
    }
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s); its store stays in the dir. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    await stopChild(child);
  }

  /** Kills the process at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    await killChild(child);
  }

  /** Freezes the process (SIGSTOP). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a paused process run again (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Starts the process again on the same port; `empty` first deletes its JetStream store (a disk lost). */
  async restart(options: { empty?: boolean } = {}): Promise<void> {
    await this.stop();
    if (options.empty === true) rmSync(join(this.dir, 'store'), { recursive: true, force: true });
    await this.#spawn();
  }

  /** Stops the process and removes its dir. Idempotent. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 3-server JetStream cluster on loopback, each with its own client port, cluster port and store. */
export class NatsCluster {
  readonly servers: readonly NatsServer[];

  private constructor(servers: readonly NatsServer[]) {
    this.servers = servers;
  }

  static async start(size = 3): Promise<NatsCluster> {
    const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
    const clusterPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
    const name = `rr${Math.random().toString(36).slice(2, 8)}`;
    const routes = clusterPorts.map((p) => `nats://${HOST}:${p}`).join(',');
    const servers: NatsServer[] = [];
    try {
      const started = await Promise.all(
        ports.map((port, i) =>
          NatsServer.start({
            port,
            extraArgs: ['--server_name', `${name}-${i}`, '--cluster_name', name, '--cluster', `nats://${HOST}:${clusterPorts[i]}`, '--routes', routes],
          }),
        ),
      );
      servers.push(...started);
      return new NatsCluster(servers);
    } catch (error) {
      await Promise.allSettled(servers.map((s) => s.destroy()));
      throw error;
    }
  }

  /** Every server's URL, for `connect({ servers })`. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  async destroy(): Promise<void> {
    await Promise.allSettled(this.servers.map((s) => s.destroy()));
  }
}

/** Inside a `describe`: a private single nats-server for the suite. Returns a getter for it. */
export function useNatsServer(): () => NatsServer {
  let server: NatsServer | null = null;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });
  return () => server!;
}

/** A prefix no other test uses (letters, digits and dashes only). */
export function randomNatsPrefix(label = 'test'): string {
  return `rr-${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}
