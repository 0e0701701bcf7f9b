/**
 * A node of a pub/sub transport (redis, nats), run as its own process. For
 * each cluster it is part of, it holds its users' sessions and listens, on
 * its own connection, at that cluster's broadcast address and at its own;
 * after each run it reports its counters, its CPU time and the latency of
 * every delivery to the parent over IPC. Workers are reused from one node
 * count to the next, so each process starts once.
 */
import { SessionNode } from './session-node.js';
import { natsNodeBus } from './transport-nats.js';
import type { NodeBus } from './transport-pubsub.js';
import { redisNodeBus } from './transport-redis.js';
import type { FromWorker, ToWorker } from './worker-pool.js';

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

  let bus: NodeBus | undefined;
  let node: SessionNode | undefined;
  let running = false;
  let cpuStart = process.cpuUsage();

  const onMessage = (payload: string): void => {
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
        bus ??= await (message.transport === 'nats' ? natsNodeBus(message.url) : redisNodeBus(message.url));
        await bus.leave();
        node = new SessionNode(message.nodeId, message.users, true);
        await bus.join(message.prefix, message.nodeId, onMessage, fail);
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
        await bus?.leave();
        send({ type: 'idle' });
        return;
      case 'stop':
        await bus?.close();
        process.exit(0);
    }
  };
  process.on('message', (raw) => {
    queue = queue.then(() => handle(raw as ToWorker)).catch(fail);
  });
}
