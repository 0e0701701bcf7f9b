/**
 * The documentation's code works: every fenced `ts`/`js` block of README.md
 * and docs/*.md is type-checked by TypeScript against the built package
 * (`ringroute` resolves to dist/ by the package's own name, as in a user's
 * project), and the blocks marked `run` (the README quick start) are run as
 * .mjs files with Node and must exit by themselves, successfully: on the
 * in-memory adapters, and on a Redis server this test starts when the
 * binary is there. See doc-blocks.ts for the markers. Needs the build.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutRedis, useRedisServer } from '../support/redis-server.js';
import { type DocBlock, extractBlocks } from './doc-blocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const BLOCKS: DocBlock[] = DOCS.flatMap((file) => extractBlocks(readFileSync(join(ROOT, file), 'utf8'), file, '.tmp/doc-test'));
const RUN_DIR = join(ROOT, '.tmp', 'doc-test-run');
const RUN_TIMEOUT_MS = 30_000;

const name = (b: DocBlock): string => `${b.file}:${b.line}`;

/** The virtual file a block is checked as, and how many context lines precede its code. */
function virtualFile(b: DocBlock): { path: string; source: string; offset: number } {
  const ext = b.lang === 'ts' ? 'mts' : 'mjs';
  const path = join(ROOT, b.dir, `__doc__${basename(b.file, '.md')}-${b.line}.${ext}`);
  const context = b.context === '' ? '' : `${b.context}\n`;
  // `export {}` makes a block without imports a module too, so top-level await and names stay local.
  return { path, source: `${context}${b.code}\nexport {};\n`, offset: context === '' ? 0 : context.split('\n').length - 1 };
}

describe('the documentation', () => {
  it('has code blocks in README.md and docs/, and the README quick start is marked to run', () => {
    expect(BLOCKS.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(3);
    expect(BLOCKS.filter((b) => b.file.startsWith('docs/')).length).toBeGreaterThanOrEqual(4);
    expect(BLOCKS.filter((b) => b.file === 'README.md' && b.run === 'plain').length).toBeGreaterThanOrEqual(2);
    expect(BLOCKS.filter((b) => b.file === 'README.md' && b.run === 'redis').length).toBeGreaterThanOrEqual(1);
  });

  it('finds blocks and markers exactly, and rejects a mistyped marker', () => {
    const md = ['text', '<!-- doc-test: fragment', 'declare const x: number;', '-->', '```ts', 'x + 1;', '```', '```sh', 'npm i', '```', '```js', 'a', '```'].join('\n');
    const blocks = extractBlocks(md, 'x.md', 'd');
    expect(blocks.map((b) => [b.line, b.lang, b.code, b.context, b.fragment, b.run])).toEqual([
      [6, 'ts', 'x + 1;', 'declare const x: number;', true, null],
      [12, 'js', 'a', '', false, null],
    ]);
    expect(() => extractBlocks('<!-- doc-test: rnu -->\n```js\na\n```', 'x.md', 'd')).toThrow(/unknown doc-test option "rnu"/);
    expect(() => extractBlocks('<!-- doc-test: run -->\ntext\n```js\na\n```', 'x.md', 'd')).toThrow(/must be followed by a code block/);
    expect(() => extractBlocks('<!-- doc-test: run -->\n```sh\na\n```', 'x.md', 'd')).toThrow(/never checked/);
  });

  describe('type-checked against the built package', () => {
    let program: ts.Program;
    const files = new Map(BLOCKS.map((b) => [b, virtualFile(b)]));

    beforeAll(() => {
      if (!existsSync(join(ROOT, 'dist/index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
      const sources = new Map([...files.values()].map((f) => [f.path, f.source]));
      const options: ts.CompilerOptions = {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2023.d.ts'],
        types: ['node'],
        strict: true,
        allowJs: true,
        checkJs: true,
        noEmit: true,
        skipLibCheck: true,
      };
      const host = ts.createCompilerHost(options);
      const { getSourceFile, fileExists, readFile } = host;
      host.getSourceFile = (file, language, ...rest) => {
        const source = sources.get(file);
        return source === undefined ? getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, source, language, true);
      };
      host.fileExists = (file) => sources.has(file) || fileExists.call(host, file);
      host.readFile = (file) => sources.get(file) ?? readFile.call(host, file);
      program = ts.createProgram({ rootNames: [...sources.keys()], options, host });
    }, 60_000);

    it('resolves ringroute to dist/, as an installed package', () => {
      const loaded = program.getSourceFiles().map((f) => f.fileName);
      expect(loaded).toContain(join(ROOT, 'dist/index.d.ts').replaceAll('\\', '/'));
      expect(loaded.some((f) => f.startsWith(join(ROOT, 'src/index.ts')))).toBe(false);
    });

    it.each(BLOCKS.map((b) => [name(b), b] as const))('%s', (_, block) => {
      const file = files.get(block)!;
      const sourceFile = program.getSourceFile(file.path);
      expect(sourceFile).toBeDefined();
      const diagnostics = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)].map((d) => {
        const at = d.start === undefined ? 0 : sourceFile!.getLineAndCharacterOfPosition(d.start).line - file.offset;
        const where = at < 0 ? `${block.file} (context of the block at line ${block.line})` : `${block.file}:${block.line + at}`;
        return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(diagnostics).toEqual([]);
    });
  });

  /** Runs a block as `<name>.mjs` from inside the repository, so `ringroute` resolves to the build by name. */
  function runBlock(block: DocBlock, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    mkdirSync(RUN_DIR, { recursive: true });
    const file = join(RUN_DIR, `${basename(block.file, '.md')}-${block.line}.mjs`);
    writeFileSync(file, `${block.code}\n`);
    return new Promise((resolve) => {
      execFile(process.execPath, [file], { cwd: RUN_DIR, env: { ...process.env, ...env }, timeout: RUN_TIMEOUT_MS }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr: error?.killed ? `${stderr}\n(killed after ${RUN_TIMEOUT_MS} ms: it did not exit by itself)` : stderr });
      });
    });
  }

  afterAll(() => {
    rmSync(RUN_DIR, { recursive: true, force: true });
  });

  describe('run as a user would, on the in-memory adapters', () => {
    it.each(BLOCKS.filter((b) => b.run === 'plain').map((b) => [name(b), b] as const))('%s exits by itself with code 0', async (_, block) => {
      const result = await runBlock(block, { REDIS_URL: '' });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/ws:\/\/10\.0\.0\.\d:8080/);
    });
  });

  describe.skipIf(skipWithoutRedis('README quick start on Redis', 'server-or-url'))('run as a user would, on Redis', () => {
    const redisUrl = useRedisServer();
    it.each(BLOCKS.filter((b) => b.run === 'redis').map((b) => [name(b), b] as const))('%s exits by itself with code 0', async (_, block) => {
      const result = await runBlock(block, { REDIS_URL: redisUrl() });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('ws://10.0.0.1:8080\n');
    });
  });
});
