/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal
 * (and not `--quiet`): a run piped into a file or another program gets
 * nothing extra.
 */

/** Something that shows how far the run is. */
export interface Progress {
  update(fraction: number, label: string): void;
  /** Erases the bar. */
  done(): void;
}

const SILENT: Progress = { update() {}, done() {} };
const WIDTH = 28;
/** Redraw at most this often. */
const INTERVAL_MS = 100;

/** A bar on `stream` when it is a TTY and `quiet` is false; otherwise one that does nothing. */
export function createProgress(stream: NodeJS.WriteStream, quiet: boolean): Progress {
  if (quiet || !stream.isTTY) return SILENT;
  let lastDraw = 0;
  let drawn = false;
  const started = performance.now();
  return {
    update(fraction, label) {
      const now = performance.now();
      if (now - lastDraw < INTERVAL_MS && fraction < 1) return;
      lastDraw = now;
      const p = Math.min(1, Math.max(0, fraction));
      const filled = Math.round(p * WIDTH);
      const elapsed = ((now - started) / 1000).toFixed(0);
      const line = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(p * 100)).padStart(3)}%  ${elapsed}s  ${label}`;
      const columns = stream.columns > 0 ? stream.columns : 80;
      stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
