/**
 * `--sockets ws` refuses, before anything starts, more sessions than this
 * process may open descriptors for: two per session, plus a spare.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SetupError } from '../../src/harness/setup-error.js';
import { checkSockets } from '../../src/harness/ws-sockets.js';

function limit(): number | null {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null || match[1] === 'unlimited' ? null : Number(match[1]);
  } catch {
    return null;
  }
}

const files = limit();

describe.skipIf(files === null)('checkSockets', () => {
  it('takes the most sessions that fit in the descriptor limit and refuses one more, naming the limit', () => {
    // The largest count the message itself says fits.
    let fits = 0;
    try {
      checkSockets(files!, 1);
    } catch (error) {
      expect(error).toBeInstanceOf(SetupError);
      const message = (error as Error).message;
      expect(message).toMatch(/file descriptors/);
      expect(message).toContain(`this process may open ${files} ("ulimit -n")`);
      expect(message).not.toContain('\n');
      fits = Number(/use at most (\d+) sessions per process/.exec(message)![1]);
    }
    expect(fits).toBeGreaterThan(0);
    expect(fits).toBeLessThan(files! / 2);
    expect(() => checkSockets(fits, 1)).not.toThrow();
    expect(() => checkSockets(fits + 1, 1)).toThrow(SetupError);
  });
});
