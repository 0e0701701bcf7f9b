/**
 * A child process of the bench (a node worker, the Socket.IO users) seen
 * from the parent: messages over IPC, each awaited reply with a timeout, the
 * tail of its stderr kept for the message when it dies, and a stop that
 * kills it if it does not go. A child's `{ type: 'error' }` message, its
 * exit and a failure to start reject every reply still awaited.
 */
import { type ChildProcess, fork } from 'node:child_process';

/** How to start a child: the script and the node flags it needs (tsx from source). */
export interface ChildCommand {
  readonly script: string;
  readonly execArgv: readonly string[];
}

export interface ChildOptions {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly serialization?: 'json' | 'advanced';
  /** Names the child in errors ("worker 3 (node-2)"). */
  readonly label: () => string;
  /** The error every failure becomes (a class of its own lets callers tell them apart). @default Error */
  readonly error?: (message: string) => Error;
  /** The text of a `{ type: 'error' }` message from the child. @default "<label> failed: <message>" */
  readonly failed?: (message: string) => string;
  /** How long `stop` waits before SIGKILL. @default 5000 */
  readonly stopAfterMs?: number;
}

/** Bytes of stderr kept for the message when the child dies. */
const STDERR_TAIL = 2000;

export class ChildHandle<To extends { readonly type: string }, From extends { readonly type: string }> {
  /** Called when the child reports an error or exits: a run in progress must end. */
  onFailure: ((error: Error) => void) | undefined;
  readonly #child: ChildProcess;
  readonly #o: ChildOptions;
  readonly #waiting = new Map<string, { resolve: (m: From) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #stderr = '';
  #exited = false;

  constructor(command: ChildCommand, options: ChildOptions) {
    this.#o = options;
    this.#child = fork(command.script, [...(options.args ?? [])], {
      execArgv: [...command.execArgv],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.serialization === undefined ? {} : { serialization: options.serialization }),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    this.#child.on('message', (raw) => {
      const message = raw as From & { message?: string };
      if (message.type === 'error') {
        this.#failAll(this.#error(options.failed?.(String(message.message)) ?? `${options.label()} failed: ${String(message.message)}`));
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
      this.#failAll(this.#error(`${options.label()} exited (${signal ?? `code ${code}`})${detail}`));
    });
    this.#child.on('error', (error) => this.#failAll(this.#error(`${options.label()}: ${error.message}`)));
  }

  /** Resolves with the next reply of this type; rejects after `timeoutMs` or when the child fails. */
  next<T extends From['type']>(type: T, timeoutMs: number): Promise<Extract<From, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.#exited) {
        reject(this.#error(`${this.#o.label()} is not running`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(type);
        reject(this.#error(`${this.#o.label()} did not answer "${type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiting.set(type, { resolve: resolve as (m: From) => void, reject, timer });
    });
  }

  send(message: To): void {
    if (!this.#exited) this.#child.send(message);
  }

  /** Sends `request` and waits for its reply. */
  ask<T extends From['type']>(request: To, reply: T, timeoutMs: number): Promise<Extract<From, { type: T }>> {
    const answer = this.next(reply, timeoutMs);
    this.send(request);
    return answer;
  }

  /** Sends `stop`, and kills the child if it has not exited after `stopAfterMs`. */
  async stop(stop: To): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.#o.stopAfterMs ?? 5000);
    try {
      this.#child.send(stop);
    } catch {
      this.#child.kill('SIGKILL');
    }
    await exited;
    clearTimeout(timer);
  }

  #error(message: string): Error {
    return this.#o.error?.(message) ?? new Error(message);
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
