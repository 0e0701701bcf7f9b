/**
 * Runs the `ringroute` CLI as a child process, the way users do: from source
 * through tsx, from the built `dist/cli.js`, or from a bundle made here with
 * tsup exactly as the package build makes it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SOURCE_ENTRY = join(ROOT, 'src/cli/main.ts');
export const DIST_ENTRY = join(ROOT, 'dist/cli.js');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to start the CLI: a built JS file, or the TypeScript source through tsx. */
export type Entry = { readonly kind: 'source' } | { readonly kind: 'built'; readonly file: string };

/** Runs the CLI with `args`, stdout and stderr piped (so not a TTY). */
export function runCli(entry: Entry, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(entry, args, options).result;
}

/** The entry the tests run in a child process: the built `dist/cli.js` when there is one (its workers are itself), else the source. */
export function builtOrSource(): Entry {
  return existsSync(DIST_ENTRY) ? { kind: 'built', file: DIST_ENTRY } : { kind: 'source' };
}

/** Starts the CLI with `args`; `result` settles when it exits (rejects, after killing it, past `timeoutMs`). */
export function startCli(entry: Entry, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const argv = entry.kind === 'source' ? ['--import', TSX, SOURCE_ENTRY, ...args] : [entry.file, ...args];
  const child = spawn(process.execPath, argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ringroute ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, result };
}

/**
 * Bundles `src/cli/main.ts` with tsup into a fresh temp dir, as the package
 * build does (ESM, node20, ioredis external), with every other dependency
 * inlined so the bundle runs from a directory without node_modules.
 */
export async function bundleCli(): Promise<string> {
  const { build } = await import('tsup');
  const outDir = mkdtempSync(join(tmpdir(), 'ringroute-cli-'));
  await build({
    entry: { cli: join(ROOT, 'src/cli/main.ts') },
    outDir,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    config: false,
    silent: true,
    external: ['ioredis'],
    noExternal: [/^(?!ioredis$).*/],
  });
  return join(outDir, 'cli.js');
}

/** Lets a bundle made by {@link bundleCli} find ioredis: links the project's node_modules next to it. */
export function linkNodeModules(bundle: string): void {
  const link = join(bundle, '..', 'node_modules');
  if (!existsSync(link)) symlinkSync(join(ROOT, 'node_modules'), link, 'dir');
}
