/**
 * The node processes of the pub/sub transports (redis, nats), seen from the
 * parent: how to start one, the messages both sides exchange over IPC, and
 * a handle that waits for a worker's replies with a timeout each.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ChildCommand, ChildHandle } from './child-handle.js';
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

export type WorkerCommand = ChildCommand;

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

/** One worker process and the replies awaited from it. */
export class WorkerHandle extends ChildHandle<ToWorker, FromWorker> {
  readonly #playing: { nodeId: string };

  constructor(index: number, command: WorkerCommand) {
    const name = `worker ${index}`;
    const playing = { nodeId: '' };
    super(command, {
      args: [WORKER_ARG],
      serialization: 'advanced',
      label: () => (playing.nodeId === '' ? name : `${name} (${playing.nodeId})`),
      error: (message) => new WorkerError(message),
    });
    this.#playing = playing;
  }

  /** The node it currently plays. */
  get nodeId(): string {
    return this.#playing.nodeId;
  }

  set nodeId(id: string) {
    this.#playing.nodeId = id;
  }

  /** Asks the worker to quit; kills it if it has not after 5 s. */
  override stop(): Promise<void> {
    return super.stop({ type: 'stop' });
  }
}
