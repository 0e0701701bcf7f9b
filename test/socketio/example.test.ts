import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('the Socket.IO chat example (examples/socketio-chat)', () => {
  it('delivers every message, visiting about one server per message, and refuses bad options', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/socketio-chat/main.ts', '--servers', '4', '--users', '30', '--messages', '300'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/messages: 300 sent, 300 delivered, 0 lost/);
    expect(stdout).toMatch(/verdict: ok/);
    const visits = Number(/servers visited per message: ([\d.]+) remote/.exec(stdout)?.[1]);
    expect(visits).toBeGreaterThan(0.5);
    expect(visits).toBeLessThanOrEqual(1.2);
    const bad = await run(process.execPath, ['--import', 'tsx', 'examples/socketio-chat/main.ts', '--users', 'many'], { cwd: ROOT }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toMatch(/--users must be an integer from 2 to 2000, got many/);
  }, 90_000);
});
