/**
 * `npm start -- serve`: the long-running cluster as a real process. It
 * prints its URLs and a demo token, serves authenticated WebSockets through
 * the gateway, and on SIGTERM shuts down cleanly: sessions closed with 4005
 * (going away), exit code 0.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { requestStatus } from '../../examples/cluster/http.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../examples/cluster/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SOURCE_TSCONFIG = fileURLToPath(new URL('./tsconfig.source.json', import.meta.url));
const SECRET = 'serve-test-secret-of-at-least-32-bytes';

describe('npm start -- serve', () => {
  it('serves until SIGTERM, then closes sessions with 4005 and exits 0', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'serve', '--nodes', '2', '--port', '0', '--admin-port', '0'], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: SOURCE_TSCONFIG, RINGROUTE_SECRET: SECRET, RINGROUTE_ADMIN_TOKEN: 'serve-test-admin-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      await waitFor(() => stdout.includes('Ctrl-C'), { timeoutMs: 30_000, what: 'serve ready' });
      expect(stdout).not.toMatch(/token secret \(random/); // the secret came from RINGROUTE_SECRET and is not printed
      expect(stdout).not.toContain(SECRET);
      const gateway = /gateway\s+(http:\/\/\S+)/.exec(stdout)![1]!;
      const admin = /admin\s+(http:\/\/\S+)/.exec(stdout)![1]!;
      const token = /token for user "alice", valid 24 h: (\S+)/.exec(stdout)![1]!;
      expect((await requestStatus('GET', `${gateway}/healthz`)).status).toBe(200);
      expect((await requestStatus('GET', `${admin}/stats`)).status).toBe(401);
      expect((await requestStatus('GET', `${admin}/stats`, { token: 'serve-test-admin-token' })).status).toBe(200);
      const ws = new WebSocket(`${gateway.replace(/^http/, 'ws')}/ws?user=alice&token=${token}`);
      const welcome = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
      });
      expect(JSON.parse(welcome)).toMatchObject({ t: 'welcome' });
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await closed).toBe(4005);
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/stopped\n$/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
