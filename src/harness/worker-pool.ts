/**
 * The node processes of the pub/sub transports (redis, nats), seen from the
 * parent: how to start one, the messages both sides exchange over IPC, and
 * a handle that waits for a worker's replies with a timeout each.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ClientCounts } from './clients.js';
import type { TransportCounts } from './counting-transport.js';

/** The argument that makes the command line run as a bench worker. */
export const WORKER_ARG = '__ringroute-bench-worker';

export type PubSubName = 'redis' | 'nats';

/** A worker failed: it reported an error, exited, or did not answer in time. */
export class WorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerError';
  }
}

export type ToWorker =
  /**
   * Become node `nodeId` of the cluster whose ring has `members` and whose
   * channels start with `prefix`, holding `users`; connect to `url` on first use.
   */
  | {
      readonly type: 'init';
      readonly transport: PubSubName;
      readonly url: string;
      readonly prefix: string;
      readonly nodeId: string;
      readonly members: readonly string[];
      readonly users: readonly string[];
      readonly sockets: 'memory' | 'ws';
    }
  /** Zero the counters and the CPU clock. */
  | { readonly type: 'start' }
  /** Report the counters and the CPU since `start`. */
  | { readonly type: 'collect' }
  /** Leave the cluster: stop the node, drop the sessions. */
  | { readonly type: 'idle' }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'started' }
  | { readonly type: 'counts'; readonly transport: TransportCounts; readonly clients: ClientCounts; readonly cpuMicros: number }
  | { readonly type: 'idle' }
  | { readonly type: 'error'; readonly message: string };

export interface WorkerCommand {
  readonly script: string;
  readonly execArgv: readonly string[];
}

/**
 * The worker command when none is given: `main.ts` through tsx from source,
 * or this very file once bundled into `dist/cli.js`, which is the entry.
 */
export function defaultWorkerCommand(): WorkerCommand {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { script: join(dirname(here), '..', 'cli', 'main.ts'), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { script: here, execArgv: [] };
}

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** One worker process and the replies awaited from it. */
export class WorkerHandle {
  /** The node it currently plays. */
  nodeId = '';
  /** Called when the worker reports an error or exits: a run in progress must end. */
  onFailure: ((error: Error) => void) | undefined;
  readonly #name: string;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, { resolve: (m: FromWorker) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #stderr = '';
  #exited = false;

  constructor(index: number, command: WorkerCommand) {
    this.#name = `worker ${index}`;
    this.#child = fork(command.script, [WORKER_ARG], {
      execArgv: [...command.execArgv],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#child.on('message', (raw) => {
      const message = raw as FromWorker;
      if (message.type === 'error') {
        this.#failAll(new WorkerError(`${this.#label()} failed: ${message.message}`));
        return;
      }
      const waiter = this.#waiting.get(message.type);
      if (waiter === undefined) return;
      this.#waiting.delete(message.type);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      const detail = this.#stderr.trim() === '' ? '' : `:\n${this.#stderr.trim()}`;
      this.#failAll(new WorkerError(`${this.#label()} exited (${signal ?? `code ${code}`})${detail}`));
    });
    this.#child.on('error', (error) => this.#failAll(new WorkerError(`${this.#label()}: ${error.message}`)));
  }

  /** Resolves with the next reply of this type. */
  next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      if (this.#exited) {
        reject(new WorkerError(`${this.#label()} is not running`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(type);
        reject(new WorkerError(`${this.#label()} did not answer "${type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiting.set(type, { resolve: resolve as (m: FromWorker) => void, reject, timer });
    });
  }

  send(message: ToWorker): void {
    if (!this.#exited) this.#child.send(message);
  }

  /** Asks the worker to quit; kills it if it has not after 5 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    try {
      this.#child.send({ type: 'stop' } satisfies ToWorker);
    } catch {
      this.#child.kill('SIGKILL');
    }
    await exited;
    clearTimeout(timer);
  }

  #label(): string {
    return this.nodeId === '' ? this.#name : `${this.#name} (${this.nodeId})`;
  }

  #failAll(error: Error): void {
    this.onFailure?.(error);
    for (const [type, waiter] of this.#waiting) {
      clearTimeout(waiter.timer);
      this.#waiting.delete(type);
      waiter.reject(error);
    }
  }
}
