import { execFile } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RingError } from '../errors.js';

/** Runs `binary args` with a deadline; rejects with its output when it fails. */
export function runCommand(binary: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (error) {
        const why = error.killed ? `timed out after ${timeoutMs} ms` : `failed (${error.code ?? error.signal ?? error.message})`;
        reject(new RingError('INVALID_OPTION', `${basename(binary)} ${args.join(' ')} ${why}: ${output.slice(0, 2000)}`, { cause: error }));
      } else resolve(output);
    });
  });
}

/** Replaces `file` with `text` atomically: a temp file in the same folder, then a rename. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}
