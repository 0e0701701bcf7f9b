/**
 * Times `GET /healthz` on a gateway every 25 ms, from a worker thread of its
 * own. The attack phase runs the attacker (3000 requests at once) in this
 * process: a probe on the same event loop would time the attacker's own
 * stalls (up to 90 ms measured, against 41 ms in the gateway process) and
 * blame the gateway for them. In its own thread it times what a load
 * balancer's health check would see.
 *
 * The worker is a small CommonJS script passed as text (`eval`), so it runs
 * the same under tsx, vitest and plain node, none of which would agree on
 * how to load a TypeScript worker file.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** Milliseconds between the end of one probe and the start of the next. */
const INTERVAL_MS = 25;
/** A probe that takes longer counts as failed. */
const PROBE_TIMEOUT_MS = 5000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let running = true;
parentPort.on('message', (m) => { if (m === 'stop') running = false; });
const probe = () => new Promise((resolve) => {
  const req = http.get(workerData.url, { agent, timeout: workerData.timeoutMs }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode === 200));
    res.on('error', () => resolve(false));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve(false));
});
(async () => {
  while (running) {
    const t0 = performance.now();
    const ok = await probe();
    const t1 = performance.now();
    parentPort.postMessage({ ok, ms: t1 - t0, end: performance.timeOrigin + t1 });
    await new Promise((r) => setTimeout(r, workerData.intervalMs));
  }
  agent.destroy();
  parentPort.postMessage('done');
})();
`;

export interface HealthFigures {
  readonly samples: number;
  readonly failures: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface HealthProbe {
  /** The slowest answer among the probes that ended after `t` (a `performance.now()` of this thread), in ms. */
  maxSince(t: number): number;
  /** Stops probing; resolves with the figures of every probe. */
  stop(): Promise<HealthFigures>;
}

/** Starts probing `${gateway}/healthz` until stopped. */
export function startHealthProbe(gateway: string): HealthProbe {
  const worker = new Worker(WORKER, { eval: true, workerData: { url: `${gateway}/healthz`, intervalMs: INTERVAL_MS, timeoutMs: PROBE_TIMEOUT_MS } });
  worker.unref(); // a probe never keeps the process alive, even if nobody stops it
  const times: number[] = [];
  /** End of each probe, on this thread's `performance.now()` clock. */
  const ends: number[] = [];
  let failures = 0;
  let error: Error | undefined;
  const done = new Promise<void>((resolve) => {
    worker.on('message', (m: 'done' | { ok: boolean; ms: number; end: number }) => {
      if (m === 'done') return resolve();
      if (!m.ok) return void failures++;
      times.push(m.ms);
      ends.push(m.end - performance.timeOrigin);
    });
    worker.on('error', (e) => {
      error = e;
      resolve();
    });
    worker.on('exit', () => resolve());
  });
  return {
    maxSince(t) {
      let max = 0;
      for (let i = ends.length - 1; i >= 0 && ends[i]! >= t; i--) max = Math.max(max, times[i]!);
      return Math.round(max * 10) / 10;
    },
    async stop() {
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), PROBE_TIMEOUT_MS + 1000);
      await done;
      clearTimeout(timer);
      await worker.terminate();
      if (error !== undefined) throw new Error(`the /healthz probe failed: ${error.message}`);
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
      return { samples: sorted.length, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}
