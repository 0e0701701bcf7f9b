/**
 * A node of the redis transport, run as its own process. For each cluster
 * it is part of, it holds its users' sessions and subscribes, with its own
 * Redis connection, to that cluster's shared broadcast channel and to its
 * own channel; after each run it reports its counters, its CPU time and the
 * latency of every delivery to the parent over IPC. Workers are reused from
 * one node count to the next, so each process starts once.
 */
import { connectRedis, type BenchRedis } from './redis-client.js';
import { SessionNode, type NodeCounters, type NodeTimes } from './session-node.js';

/** The hidden first argument that starts `main` as a worker. */
export const WORKER_ARG = '__ringroute-bench-worker';

/** Messages from the parent. */
export type ToWorker =
  /** Become node `nodeId` of the cluster whose channels start with `prefix`, holding `users`. */
  | { readonly type: 'init'; readonly nodeId: string; readonly url: string; readonly prefix: string; readonly users: readonly string[] }
  /** Zero the counters and count from now until the end marker. */
  | { readonly type: 'start' }
  /** Leave the cluster: unsubscribe and drop the sessions. */
  | { readonly type: 'idle' }
  | { readonly type: 'stop' };

/** Messages to the parent. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'started' }
  | { readonly type: 'idle' }
  | { readonly type: 'done'; readonly counters: NodeCounters; readonly cpuMicros: number; readonly times: NodeTimes; readonly latencies: Float64Array }
  | { readonly type: 'error'; readonly message: string };

/** The channel every node of a cluster subscribes to, for broadcast. */
export function broadcastChannel(prefix: string): string {
  return `${prefix}all`;
}

/** A node's own channel, for hash routing. */
export function nodeChannel(prefix: string, nodeId: string): string {
  return `${prefix}node:${nodeId}`;
}

/** Runs this process as a worker until the parent says stop or goes away. */
export function runWorker(): void {
  const send = (message: FromWorker): void => {
    process.send?.(message);
  };
  const fail = (error: unknown): void => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  };
  // Never outlive the benchmark.
  process.on('disconnect', () => process.exit(0));

  let sub: BenchRedis | undefined;
  let node: SessionNode | undefined;
  let running = false;
  let cpuStart = process.cpuUsage();

  const onMessage = (_channel: string, payload: string): void => {
    if (!running || node === undefined) return;
    if (!node.receive(payload)) {
      running = false;
      const cpu = process.cpuUsage(cpuStart);
      send({ type: 'done', counters: node.counters(), cpuMicros: cpu.user + cpu.system, times: node.times(), latencies: Float64Array.from(node.latencies()) });
    }
  };

  // Handled one at a time, in order: an init must finish before the next message.
  let queue = Promise.resolve();
  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'init':
        if (sub === undefined) {
          sub = await connectRedis(message.url);
          sub.on('message', onMessage);
        }
        await sub.unsubscribe();
        node = new SessionNode(message.nodeId, message.users, true);
        await sub.subscribe(broadcastChannel(message.prefix), nodeChannel(message.prefix, message.nodeId));
        send({ type: 'ready' });
        return;
      case 'start':
        node?.reset();
        running = true;
        cpuStart = process.cpuUsage();
        send({ type: 'started' });
        return;
      case 'idle':
        running = false;
        node = undefined;
        await sub?.unsubscribe();
        send({ type: 'idle' });
        return;
      case 'stop':
        if (sub !== undefined) await sub.quit().catch(() => sub?.disconnect());
        process.exit(0);
    }
  };
  process.on('message', (raw) => {
    queue = queue.then(() => handle(raw as ToWorker)).catch(fail);
  });
}
