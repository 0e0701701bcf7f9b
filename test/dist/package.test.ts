/**
 * The published package, checked as users meet it: `npm pack` of the build,
 * linted by publint (strict) and arethetypeswrong (every resolution mode),
 * installed into an empty project outside this repository, loaded through
 * `import` and `require`, type-checked by TypeScript under node10, node16
 * (ESM and CJS) and bundler resolution, and its `ringroute` command run
 * through npx.
 *
 * Every check iterates over package.json `exports`: a new subpath is covered
 * without touching this file. Needs the build (`npm test` runs it first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PKG, type PackedProject, exec, exportedSubpaths, npmEnv, packAndInstall } from '../support/packed-project.js';

const SUBPATHS = exportedSubpaths();
const MODULES = SUBPATHS.filter((s) => !s.json);
/** Subpaths whose declarations need @types/node (their API takes node:http objects). */
const NODE_ONLY = MODULES.filter((s) => s.specifier === 'ringroute/gateway' || s.specifier === 'ringroute/socket.io');
const PORTABLE = MODULES.filter((s) => !NODE_ONLY.includes(s));
const JSONS = SUBPATHS.filter((s) => s.json);

let packed: PackedProject;
let tarball: Uint8Array;

beforeAll(async () => {
  packed = await packAndInstall(['ioredis', 'prom-client', '@types/node', 'socket.io-adapter', '@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv']);
  tarball = new Uint8Array(readFileSync(packed.tarball));
}, 180_000);

afterAll(() => {
  packed?.remove();
});

/** Files in the tarball, without the `package/` prefix. */
function tarballFiles(): string[] {
  const pkg = createPackageFromTarballData(tarball);
  return pkg.listFiles().map((file) => file.replace(/^\/node_modules\/[^/]+\//, ''));
}

describe('the packed tarball', () => {
  it('is built before packing: prepack runs the build, quietly so `npm pack --json` stays JSON', () => {
    expect(PKG.scripts?.prepack).toMatch(/^npm run --silent build -- --silent$/);
  });

  it('says where it comes from, under what license, and for which Node', () => {
    const installed = join(packed.project, 'node_modules', PKG.name);
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      license: 'MIT',
      repository: { type: 'git', url: 'git+https://github.com/ringroute/ringroute.git' },
      homepage: 'https://github.com/ringroute/ringroute#readme',
      bugs: { url: 'https://github.com/ringroute/ringroute/issues' },
      engines: { node: '>=20' },
    });
    const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the ringroute authors\n/);
  });

  it('holds the build, the README, the LICENSE and package.json, and no source maps', () => {
    const files = tarballFiles();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/cli.js']));
    expect(files.filter((file) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(file))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
  });

  it('names each subpath\'s files after it, as typesVersions (node10) expects: ringroute/<name> is dist/<name>.*', () => {
    for (const { subpath } of MODULES) {
      const file = subpath === '.' ? 'index' : subpath.slice(2);
      expect(PKG.exports[subpath], `exports["${subpath}"]`).toEqual({
        import: { types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` },
        require: { types: `./dist/${file}.d.cts`, default: `./dist/${file}.cjs` },
      });
    }
  });

  it('holds every file that exports, main, module, types and bin point at', () => {
    const files = new Set(tarballFiles());
    const targets: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') targets.push(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) walk(v);
    };
    const raw = JSON.parse(readFileSync(join(packed.project, 'node_modules', PKG.name, 'package.json'), 'utf8')) as Record<string, unknown>;
    walk([raw.exports, raw.main, raw.module, raw.types, raw.bin]);
    expect(targets.length).toBeGreaterThan(SUBPATHS.length);
    for (const target of targets) expect(files.has(target.replace(/^\.\//, '')), target).toBe(true);
  });

  it('passes publint --strict', async () => {
    const { messages, pkg } = await publint({ pack: { tarball: tarball.slice().buffer }, strict: true, level: 'suggestion' });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`)).toEqual([]);
  });

  it('passes arethetypeswrong for every subpath under node10, node16 (CJS and ESM) and bundler', async () => {
    const result = await checkPackage(createPackageFromTarballData(tarball));
    if (result.types === false) throw new Error('arethetypeswrong found no types in the package');
    expect(result.problems).toEqual([]);
    for (const { subpath } of MODULES) {
      const entry = result.entrypoints[subpath];
      expect(entry, `${subpath} is not an entrypoint`).toBeDefined();
      for (const [kind, resolution] of Object.entries(entry!.resolutions)) {
        expect(resolution.resolution?.isTypeScript, `${subpath} has no types under ${kind}`).toBe(true);
        // node10 is TypeScript's old resolution only: runtimes without `exports` predate Node 20, which the package requires.
        if (kind !== 'node10') expect(resolution.implementationResolution?.fileName, `${subpath} has no JavaScript under ${kind}`).toMatch(/\.c?js$/);
      }
    }
  });
});

describe('the installed package', () => {
  /** Runs a script in the consumer project and returns its JSON output. */
  async function inProject(file: string, source: string): Promise<unknown> {
    writeFileSync(join(packed.project, file), source);
    const { stdout } = await exec(process.execPath, [file], { cwd: packed.project, timeoutMs: 30_000 });
    return JSON.parse(stdout);
  }

  it.each(MODULES)('loads $specifier through import and require, with the same exports', async ({ specifier }) => {
    const esm = (await inProject('load.mjs', `const m = await import(${JSON.stringify(specifier)});\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`)) as string[];
    const cjs = (await inProject('load.cjs', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()));\n`)) as string[];
    expect(esm.length).toBeGreaterThan(0);
    expect(cjs).toEqual(esm.filter((name) => name !== 'default'));
  });

  it.each(JSONS)('loads $specifier through import and require', async ({ specifier }) => {
    const esm = await inProject('load.mjs', `const { default: m } = await import(${JSON.stringify(specifier)}, { with: { type: 'json' } });\nconsole.log(JSON.stringify(m));\n`);
    const cjs = await inProject('load.cjs', `console.log(JSON.stringify(require(${JSON.stringify(specifier)})));\n`);
    expect(esm).toEqual(cjs);
    expect(typeof esm).toBe('object');
  });

  it('builds a ring through the package name from ESM and CJS, agreeing on owners', async () => {
    const body = (load: string) =>
      `${load}\nconst ring = await HashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);\nconsole.log(JSON.stringify(Array.from({ length: 50 }, (_, i) => ring.lookup('user:' + i).id)));\n`;
    const esm = await inProject('ring.mjs', body(`import { HashRing } from 'ringroute';`));
    const cjs = await inProject('ring.cjs', `(async () => {\n${body(`const { HashRing } = require('ringroute');`)}\n})();\n`);
    expect(esm).toEqual(cjs);
    expect(new Set(esm as string[])).toEqual(new Set(['a', 'b', 'c']));
  });

  it('runs `npx ringroute --version` and `npx ringroute` (the help)', async () => {
    const env = { ...npmEnv(), npm_config_offline: 'true' };
    const version = await exec('npx', ['ringroute', '--version'], { cwd: packed.project, env, timeoutMs: 60_000 });
    expect(version.stdout).toBe(`${PKG.version}\n`);
    const help = await exec('npx', ['ringroute'], { cwd: packed.project, env, timeoutMs: 60_000 });
    expect(help.stdout).toMatch(/Usage: ringroute <command>/);
  });

  describe('type-checked by TypeScript', () => {
    /** A file that imports every module subpath and uses a type from each, so unresolved or untyped imports fail. */
    const importsEvery = (cjs: boolean, modules: typeof MODULES = PORTABLE): string =>
      modules.map(({ specifier }, i) =>
        [
          cjs ? `import m${i} = require(${JSON.stringify(specifier)});` : `import * as m${i} from ${JSON.stringify(specifier)};`,
          // An untyped (any) module would make this key set `string`, which is not assignable to never.
          `export const check${i}: Exclude<keyof typeof m${i}, string> extends never ? true : never = true;`,
          `export const names${i}: ReadonlyArray<keyof typeof m${i}> = [];`,
        ].join('\n'),
      ).join('\n');

    const CASES: ReadonlyArray<{ name: string; files: Record<string, string>; options: ts.CompilerOptions; types?: string[] }> = [
      {
        name: 'node10 (moduleResolution node10, CommonJS)',
        files: { 'check-node10.ts': importsEvery(false) },
        options: { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 },
      },
      {
        name: 'node16 from ESM and from CJS',
        files: { 'check-node16.mts': importsEvery(false), 'check-node16.cts': importsEvery(true) },
        options: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
      },
      {
        name: 'bundler',
        files: { 'check-bundler.ts': importsEvery(false) },
        options: { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
      },
      {
        // ringroute/gateway is Node-only (its handlers take node:http requests): checked with @types/node, as its users have it.
        name: 'node16, the Node-only subpaths with @types/node',
        files: { 'check-node-only.mts': importsEvery(false, NODE_ONLY), 'check-node-only.cts': importsEvery(true, NODE_ONLY) },
        options: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
        types: ['node'],
      },
    ];

    it.each(CASES)('resolves every subpath with its types under $name', ({ files, options, types = [] }) => {
      const rootNames = Object.entries(files).map(([name, source]) => {
        const file = join(packed.project, name);
        writeFileSync(file, `${source}\n`);
        return file;
      });
      const program = ts.createProgram({
        rootNames,
        options: {
          ...options,
          target: ts.ScriptTarget.ES2022,
          lib: ['lib.es2022.d.ts'],
          strict: true,
          noEmit: true,
          // Check the shipped declarations too, with no @types from anywhere (but @types/node for Node-only subpaths).
          skipLibCheck: false,
          types,
        },
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
      // The declarations came from the installed package, not from this repository.
      const declarations = program.getSourceFiles().map((f) => f.fileName).filter((f) => f.includes(`/node_modules/${PKG.name}/`));
      expect(declarations.length).toBeGreaterThanOrEqual(types.length > 0 ? NODE_ONLY.length : PORTABLE.length);
    });
  });
});
