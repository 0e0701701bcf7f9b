/**
 * The running version, read at run time from the package.json of the package
 * this file is in (so it never disagrees with the package that ships it).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How many directories up to look: dist/ is one level below the package, src/cli/ two. */
const MAX_DEPTH = 3;

/** The version in ringroute's package.json, or null when no such file is found near this one. */
export function readVersion(from: string = import.meta.url): string | null {
  let dir = dirname(fileURLToPath(from));
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ringroute' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here, or not readable: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}
