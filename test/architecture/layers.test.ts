/**
 * The layering rule of `src/`, checked on every relative import: a layer
 * imports only from itself and the layers below it, adapters never import
 * each other, and the core entry never reaches an I/O adapter. The in-memory
 * adapters are the reference implementations and the embedded default, so
 * `ringroute` re-exports them; `ringroute/redis` stays a separate entry.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Lower rank = lower layer. Unlisted folders fail the test, so a new layer must be placed here. */
const RANK: Record<string, number> = {
  'errors.ts': 0,
  ring: 1,
  live: 2,
  'adapters/memory': 3,
  'adapters/redis': 3,
  'adapters/nats': 3,
  sessions: 4,
  client: 4,
  gateway: 5,
  socketio: 5,
  proxy: 5,
  nginx: 5,
  haproxy: 5,
  metrics: 6,
  harness: 6,
  cli: 7,
  'index.ts': 8,
};

function layerOf(file: string): string {
  const rel = relative(SRC, file).split('\\').join('/');
  if (rel.startsWith('adapters/')) return rel.split('/').slice(0, 2).join('/');
  return rel.split('/')[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

const edges = sourceFiles(SRC).flatMap((file) => relativeImports(file).map((target) => ({ file, target })));

describe('src/ layering', () => {
  it('places every source file in a known layer', () => {
    const unknown = sourceFiles(SRC).map(layerOf).filter((layer) => RANK[layer] === undefined);
    expect(unknown).toEqual([]);
  });

  it('imports only from the same layer or the layers below', () => {
    const upward = edges
      .filter(({ file, target }) => RANK[layerOf(target)]! > RANK[layerOf(file)]!)
      .map(({ file, target }) => `${relative(SRC, file)} -> ${relative(SRC, target)}`);
    expect(upward).toEqual([]);
  });

  it('keeps adapters independent of each other', () => {
    const crossing = edges
      .filter(({ file, target }) => {
        const from = layerOf(file);
        const to = layerOf(target);
        return from.startsWith('adapters/') && to.startsWith('adapters/') && from !== to;
      })
      .map(({ file, target }) => `${relative(SRC, file)} -> ${relative(SRC, target)}`);
    expect(crossing).toEqual([]);
  });

  it('keeps the browser client free of Node-only imports', () => {
    const clientFiles = [...new Set(edges.filter(({ file }) => layerOf(file) === 'client').flatMap(({ target }) => [target]))];
    const reached = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const { target } of edges.filter((e) => e.file === file)) visit(target);
    };
    for (const file of sourceFiles(join(SRC, 'client'))) visit(file);
    expect(clientFiles.length).toBeGreaterThan(0);
    const nodeImports = [...reached].filter((file) => /from\s+['"](node:|ws['"]|ioredis)/.test(readFileSync(file, 'utf8'))).map((file) => relative(SRC, file));
    expect(nodeImports).toEqual([]);
    expect([...reached].map(layerOf).filter((layer) => !['client', 'sessions', 'errors.ts'].includes(layer))).toEqual([]);
  });

  it('never lets the core entry import the Redis adapter', () => {
    const core = edges.filter(({ file }) => relative(SRC, file) === 'index.ts').map(({ target }) => layerOf(target));
    expect(core).not.toContain('adapters/redis');
    expect(core.length).toBeGreaterThan(0);
  });
});
