/**
 * The code blocks of the documentation: every fenced `ts`/`js` block of a
 * Markdown file, with what the HTML comment right above it says about it.
 *
 *   <!-- doc-test: run -->              also run it, as a .mjs file, as a user would
 *   <!-- doc-test: run redis -->        run it with REDIS_URL set to a Redis the test starts
 *   <!-- doc-test: in examples/cluster -->  type-check it as a file of that folder
 *   <!-- doc-test: fragment             a fragment of a larger program: the lines below,
 *   declare const sessions: Map<...>;   declarations or imports, are put before it
 *   -->
 *
 * Options combine (`fragment in test/contract`). An unknown option, or a
 * marker with no block under it, is an error, so a typo cannot turn a check
 * off.
 */

export interface DocBlock {
  /** The Markdown file, relative to the repository. */
  readonly file: string;
  /** Line of the block's first code line in the Markdown file (1-based). */
  readonly line: number;
  readonly lang: 'ts' | 'js';
  readonly code: string;
  /** Code put before the block (a fragment's context); empty otherwise. */
  readonly context: string;
  readonly fragment: boolean;
  /** Run it: on the in-memory adapters, or with a Redis. */
  readonly run: 'plain' | 'redis' | null;
  /** Folder (relative to the repository) the block is type-checked in. */
  readonly dir: string;
}

const LANGS: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', mts: 'ts', js: 'js', javascript: 'js', mjs: 'js' };
const OPTIONS = new Set(['run', 'redis', 'fragment', 'in']);

interface Marker {
  readonly endLine: number;
  readonly words: string[];
  readonly context: string;
}

/** The blocks of one Markdown file. */
export function extractBlocks(markdown: string, file: string, defaultDir: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let marker: Marker | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = /^\s*<!--\s*doc-test:(.*)$/.exec(line);
    if (open !== null) {
      if (marker !== null) throw new Error(`${file}:${i + 1}: a doc-test marker follows another with no code block between`);
      let text = open[1]!;
      let end = i;
      while (!text.includes('-->')) {
        end++;
        if (end >= lines.length) throw new Error(`${file}:${i + 1}: doc-test marker is never closed with -->`);
        text += `\n${lines[end]}`;
      }
      const body = text.slice(0, text.indexOf('-->'));
      const [first = '', ...rest] = body.split('\n');
      marker = { endLine: end, words: first.trim().split(/\s+/).filter(Boolean), context: rest.join('\n').trim() };
      i = end;
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (fence === null) {
      if (marker !== null && line.trim() !== '') throw new Error(`${file}:${marker.endLine + 1}: a doc-test marker must be followed by a code block`);
      continue;
    }
    // Find the closing fence; the block's lines are those between.
    const close = lines.findIndex((l, k) => k > i && l.trim().startsWith(fence[2]!) && l.trim().replace(/[`~]/g, '') === '');
    if (close === -1) throw new Error(`${file}:${i + 1}: code block is never closed`);
    const lang = LANGS[fence[3]!.toLowerCase()];
    if (lang === undefined) {
      if (marker !== null) throw new Error(`${file}:${i + 1}: a doc-test marker is above a ${fence[3] || 'plain'} block, which is never checked`);
    } else {
      const words = marker?.words ?? [];
      for (const word of words) {
        if (!OPTIONS.has(word) && words[words.indexOf(word) - 1] !== 'in') throw new Error(`${file}:${i + 1}: unknown doc-test option ${JSON.stringify(word)}`);
      }
      const inAt = words.indexOf('in');
      if (inAt !== -1 && words[inAt + 1] === undefined) throw new Error(`${file}:${i + 1}: doc-test "in" needs a folder`);
      blocks.push({
        file,
        line: i + 2,
        lang,
        code: lines.slice(i + 1, close).map((l) => l.slice(fence[1]!.length)).join('\n'),
        context: marker?.context ?? '',
        fragment: words.includes('fragment'),
        run: words.includes('run') ? (words.includes('redis') ? 'redis' : 'plain') : null,
        dir: inAt === -1 ? defaultDir : words[inAt + 1]!,
      });
      if (words.includes('redis') && !words.includes('run')) throw new Error(`${file}:${i + 1}: doc-test "redis" only goes with "run"`);
      if (marker !== null && marker.context !== '' && !words.includes('fragment')) throw new Error(`${file}:${i + 1}: only a fragment takes context lines`);
    }
    marker = null;
    i = close;
  }
  if (marker !== null) throw new Error(`${file}:${marker.endLine + 1}: a doc-test marker must be followed by a code block`);
  return blocks;
}
