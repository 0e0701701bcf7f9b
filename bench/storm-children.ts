/**
 * The processes of a connection-storm run (bench/storm-run.ts): children
 * forked with `--import tsx` that take their config as JSON in argv[2] and
 * talk `{ type }` messages over IPC, and the proxies; all are killed when
 * this process exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StormProxy } from './storm-proxies.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** Forked children and started proxies, killed when this process exits. */
const children = new Set<ChildProcess>();
const proxies = new Set<StormProxy>();
let exitHook = false;

function onExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    for (const p of proxies) p.killNow();
  });
}

/** Forks `file` (relative to bench/) with `--import tsx` and its config as JSON in argv[2]. */
export function spawnChild(file: string, config: unknown, execArgv: readonly string[] = []): ChildProcess {
  onExit();
  const child = fork(here(file), [JSON.stringify(config)], { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.setMaxListeners(100);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Sends `{ type }` (unless `send` is false) and waits for a message of type `answer`. */
export function ask<T>(child: ChildProcess, type: string, answer = type, send = true, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      reject(new Error(`no ${answer} from ${child.spawnargs[child.spawnargs.length - 2] ?? 'a child'} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`a child exited (${code}) before answering ${answer}`));
    };
    function onMessage(message: { type: string }): void {
      if (message.type !== answer) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (send) child.send({ type });
  });
}

/** Asks a child to stop (SIGTERM when its channel is closed), SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'stop' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Kills `proxy` if this process exits before it was stopped. */
export function track(proxy: StormProxy): StormProxy {
  onExit();
  proxies.add(proxy);
  return proxy;
}

/** `proxy` was stopped. */
export function forget(proxy: StormProxy): void {
  proxies.delete(proxy);
}
