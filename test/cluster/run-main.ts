/**
 * Runs the cluster example's command line (`npm start -- <args>`, i.e.
 * examples/cluster/main.ts) as a real process on the library's source, as
 * vitest does, with stdout and stderr piped (so not a terminal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../examples/cluster/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
// The example imports the package by name: resolve it to src/, as vitest does.
const SOURCE_TSCONFIG = fileURLToPath(new URL('./tsconfig.source.json', import.meta.url));

export interface MainRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Resolves when the process exits; rejects (after SIGKILL) when it has not
 * within `timeoutMs`. `onStderr` sees all of stderr so far at every chunk
 * and may signal the child. `openFiles` runs it under `ulimit -n` of that
 * (through sh), as on a machine with that descriptor limit.
 */
export function runMain(args: readonly string[], timeoutMs = 30_000, onStderr?: (text: string, child: ChildProcess) => void, openFiles?: number): Promise<MainRun> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, '--import', TSX, MAIN, ...args];
    const [file, ...rest] = openFiles === undefined ? argv : ['/bin/sh', '-c', `ulimit -n ${openFiles} && exec "$@"`, 'sh', ...argv];
    const child = spawn(file!, rest, {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: SOURCE_TSCONFIG },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
