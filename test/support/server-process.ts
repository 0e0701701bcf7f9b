/**
 * What the private servers of the tests (redis-server, nats-server) share:
 * finding the binary, a port check, and stopping or killing the child, never
 * leaving one behind when the test process exits.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Full path of the executable `name` on PATH or in `extraDirs`, or null. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` with SIGKILL if it is still running when this process exits, whatever happened. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const proc of live) proc.kill('SIGKILL');
    });
  }
}

/** Whether nothing listens on `port` of `host`. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Stops `child`: SIGCONT (a paused server would never handle SIGTERM), SIGTERM, SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  child.kill('SIGCONT');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills `child` at once (SIGKILL), as a crash would, and waits for it to exit. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
