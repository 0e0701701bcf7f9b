/**
 * The package as users get it: `npm pack` of the built package, installed
 * into an empty project in the system temp dir, away from this repository's
 * node_modules.
 *
 * The install must not depend on the network: the temp project gets a
 * lockfile whose entries (version and integrity) are copied from this
 * repository's package-lock.json, so `npm ci --offline` takes every tarball
 * from the npm cache that `npm ci` filled. Only if the cache lacks one (a
 * cleaned cache) does it fall back to `--prefer-offline`, which may ask the
 * registry. Every npm command has a timeout.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM_TIMEOUT_MS = 120_000;

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly exports: Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly bin?: Record<string, string>;
  readonly scripts?: Record<string, string>;
}

interface LockEntry {
  readonly version: string;
  readonly integrity?: string;
  readonly resolved?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly [key: string]: unknown;
}

export const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** One subpath of package.json `exports`, as users import it. */
export interface Subpath {
  /** `.`, `./redis`, `./report.schema.json`... */
  readonly subpath: string;
  /** `ringroute`, `ringroute/redis`... */
  readonly specifier: string;
  /** A JSON file rather than a module with types. */
  readonly json: boolean;
}

/** Every subpath of `exports` except `./package.json`: what the package offers. */
export function exportedSubpaths(): Subpath[] {
  return Object.keys(PKG.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => ({
      subpath,
      specifier: subpath === '.' ? PKG.name : `${PKG.name}/${subpath.slice(2)}`,
      json: subpath.endsWith('.json'),
    }));
}

/** Runs a command with a timeout; rejects with its output when it fails. */
export function exec(file: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? NPM_TIMEOUT_MS, maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed in ${options.cwd}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The environment for npm in a temp project: nothing inherited from an `npm test` of this repo. */
export function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/i.test(key) || key === 'INIT_CWD' || key === 'npm_config_prefix') continue;
    env[key] = value;
  }
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface PackedProject {
  /** The temp dir holding the tarball and the project. */
  readonly dir: string;
  /** The `npm pack` tarball. */
  readonly tarball: string;
  /** The project with the tarball installed. */
  readonly project: string;
  /** Removes everything. */
  remove(): void;
}

/**
 * Packs the built package (without running `prepack`: the build is already
 * there, and rebuilding under running tests would race them) and installs
 * it, with `extra` dependencies taken from this repository's lockfile
 * (e.g. `ioredis`), into a fresh project.
 */
export async function packAndInstall(extra: readonly string[] = []): Promise<PackedProject> {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  const dir = mkdtempSync(join(tmpdir(), 'ringroute-packed-'));
  try {
    const { stdout } = await exec(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: npmEnv() });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const tarball = join(dir, filename);
    const project = join(dir, 'project');
    writeProject(project, tarball, extra);
    try {
      await exec(NPM, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, env: npmEnv() });
    } catch (error) {
      if (!/ENOTCACHED/.test(String(error))) throw error;
      await exec(NPM, ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, env: npmEnv() });
    }
    return { dir, tarball, project, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** package.json and package-lock.json of the consumer project. */
function writeProject(project: string, tarball: string, extra: readonly string[]): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {};
  const rootDeps: Record<string, string> = { [PKG.name]: `file:../${tarball.split(/[\\/]/).pop()}` };

  /** Copies the lock entry of `name` as seen from `from` (a node_modules path or ''), and its dependencies. */
  const add = (name: string, from: string): void => {
    let path: string | undefined;
    for (let base = from; ; base = base.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (lock.packages[candidate] !== undefined) {
        path = candidate;
        break;
      }
      if (base === '') break;
    }
    if (path === undefined) throw new Error(`${name} (needed from ${from || 'the project'}) is not in package-lock.json`);
    if (packages[path] !== undefined) return;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock.packages[path]!;
    packages[path] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) add(dep, path);
  };

  for (const dep of Object.keys(PKG.dependencies ?? {})) add(dep, '');
  for (const name of extra) {
    add(name, '');
    rootDeps[name] = packages[`node_modules/${name}`]!.version;
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  packages[`node_modules/${PKG.name}`] = {
    version: PKG.version,
    resolved: rootDeps[PKG.name]!,
    integrity,
    ...(PKG.dependencies ? { dependencies: PKG.dependencies } : {}),
    ...(PKG.bin ? { bin: PKG.bin } : {}),
    ...(PKG.peerDependencies ? { peerDependencies: PKG.peerDependencies } : {}),
    // Without it npm takes every peer (ioredis, jose) as required and refuses the lock.
    ...(PKG.peerDependenciesMeta ? { peerDependenciesMeta: PKG.peerDependenciesMeta } : {}),
  };
  const manifest = { name: 'ringroute-consumer', version: '1.0.0', private: true, dependencies: rootDeps };
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(project, 'package-lock.json'),
    `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': manifest, ...packages } }, null, 2)}\n`,
  );
}
