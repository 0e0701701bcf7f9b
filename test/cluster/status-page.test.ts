/**
 * The status page in a real browser: the example cluster (memory adapters,
 * real HTTP and WebSocket servers) with its admin port, opened in headless
 * Chromium (Debian's `chromium`, driven by playwright-core: no browser
 * download). Without the binary the suite is skipped with one line, and
 * fails under CI=true. The screenshot is saved under `.tmp/` (git-ignored),
 * its path printed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMembership, MemoryRingStore } from 'ringroute';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, startAdmin } from '../../examples/cluster/admin.js';
import { TokenSigner } from '../../examples/cluster/auth.js';
import { type ClusterHandle, startMemoryCluster } from '../../examples/cluster/cluster.js';
import { User } from '../../examples/cluster/client.js';
import { waitFor } from '../support/wait.js';

/** The little of the DOM the page checks use (the tests are type-checked without the DOM library). */
interface PageNode {
  readonly textContent: string;
  readonly dataset: Record<string, string | undefined>;
}
declare const document: { getElementById(id: string): PageNode; querySelectorAll(selector: string): Iterable<PageNode> & ArrayLike<PageNode> };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTEFACTS = join(process.cwd(), '.tmp');
const SUITE = 'the status page in headless Chromium';

function skipWithoutChromium(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') {
    describe(SUITE, () => {
      it('has Chromium available (required when CI=true)', () => {
        throw new Error(`${SUITE}: no Chromium at ${CHROMIUM}. Install the Debian package chromium (.ci/run does) or set CHROMIUM_PATH.`);
      });
    });
  } else {
    console.warn(`[ringroute] no Chromium at ${CHROMIUM}: skipping the status page browser test (install the chromium package or set CHROMIUM_PATH)`);
  }
  return true;
}

const SECRET = 'status-page-test-secret-of-32-bytes!';
const ADMIN = 'status-page-test-admin-token';

describe.skipIf(skipWithoutChromium())(SUITE, () => {
  let cluster: ClusterHandle;
  let admin: Admin;
  let context: BrowserContext;
  let profile: string;
  const store = new MemoryRingStore();
  const membership = new MemoryMembership({ ttlMs: 2000, heartbeatMs: 200 });
  const users: User[] = [];

  beforeAll(async () => {
    cluster = await startMemoryCluster({ gateways: 2, nodes: ['node-1', 'node-2', 'node-3'], strategy: 'selective', mode: 'hash', graceMs: 10_000, ttlMs: 2000, heartbeatMs: 200, backends: { store, membership }, secret: SECRET, adminToken: ADMIN });
    admin = await startAdmin({ store: store.connect(), membership: membership.connect(), gateways: () => cluster.admins, nodes: () => cluster.nodeAdmins, partsToken: ADMIN });
    const signer = new TokenSigner(SECRET);
    for (let i = 0; i < 60; i++) {
      const user = new User(`user-${i}`, { gateway: cluster.gateways[i % 2]!, via: 'proxy', onMessage: () => undefined, token: (u) => signer.sign(u) });
      user.start();
      users.push(user);
    }
    await waitFor(() => users.every((u) => u.node !== null), { timeoutMs: 15_000, what: 'users connected' });
    profile = mkdtempSync(join(tmpdir(), 'ringroute-chromium-'));
    // An empty profile of its own, so nothing of a user's browser is read or written.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
      timeout: 30_000,
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    for (const user of users) user.stop();
    await admin?.close();
    await cluster?.close();
    await membership.close();
    await store.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('refuses the page without the admin token', async () => {
    const page = await context.newPage();
    const answer = await page.goto(`${admin.url}/status`);
    expect(answer?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/admin token required/);
    await page.close();
  });

  it('draws one colour per node, then shows a joining node\'s arcs and event within 2 s', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    /** Waits until `check`, run in the page, is true (a function: the page's CSP forbids evaluating strings). */
    const until = (check: () => boolean, timeout: number) => page.waitForFunction(check, undefined, { timeout });
    const answer = await page.goto(`${admin.url}/status?token=${admin.token}`);
    expect(answer?.status()).toBe(200);
    expect(page.url()).toBe(`${admin.url}/status`); // the token left the address bar for a cookie
    await page.waitForSelector('#conn.ok', { timeout: 5000 });

    const colours = async (): Promise<Record<string, string[]>> =>
      page.$$eval('#ring path.arc', (paths) => {
        const by: Record<string, string[]> = {};
        for (const p of paths) {
          const node = p.getAttribute('data-node')!;
          const colour = p.getAttribute('stroke')!;
          by[node] = [...new Set([...(by[node] ?? []), colour])];
        }
        return by;
      });
    const before = await colours();
    expect(Object.keys(before).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const list of Object.values(before)) expect(list).toHaveLength(1); // each node in one colour
    expect(new Set(Object.values(before).map((l) => l[0])).size).toBe(3); // and no two nodes share one
    // The legend shows each node's share, and the gateways agree.
    const legend = await page.$$eval('#legend tr', (rows) => rows.map((r) => [r.getAttribute('data-node'), r.children[2]!.textContent]));
    expect(legend.map((r) => r[0])).toEqual(['node-1', 'node-2', 'node-3']);
    for (const [, share] of legend) expect(share).toMatch(/^\d+\.\d%$/);
    await until(() => /all 2 gateways on v\d+/.test(document.getElementById('agree').textContent), 5000);
    await until(() => Number(document.getElementById('t-sessions').textContent) === 60, 5000);

    const joinedAt = performance.now();
    await cluster.startNode('node-4', 'selective');
    await until(() => document.querySelectorAll('#ring path.arc[data-node="node-4"]').length > 0, 2000);
    await until(() => [...document.querySelectorAll('#log li')].some((li) => /node-4 joined/.test(li.textContent)), 2000);
    const seenMs = performance.now() - joinedAt;
    expect(seenMs).toBeLessThan(2000);
    const after = await colours();
    expect(Object.keys(after).sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(new Set(Object.values(after).map((l) => l[0])).size).toBe(4);
    expect(after['node-1']).toEqual(before['node-1']); // a node keeps its colour when another joins
    await until(() => [...document.querySelectorAll('#log li')].some((li) => li.dataset.kind === 'change' && /\+node-4/.test(li.textContent)), 2000);
    // Let the handoff show, then keep the picture.
    await waitFor(() => users.every((u) => u.node !== null), { timeoutMs: 10_000, what: 'users reconnected' });
    await until(() => [...document.querySelectorAll('#log li')].some((li) => li.dataset.kind === 'handoff'), 5000);
    mkdirSync(ARTEFACTS, { recursive: true });
    const shot = join(ARTEFACTS, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`[ringroute] status page screenshot: ${shot} (node-4 seen ${Math.round(seenMs)} ms after its join)`);
    expect(errors).toEqual([]);
    await page.close();
  });
});
