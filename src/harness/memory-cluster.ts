/**
 * A ringroute cluster in this process: one `SessionNode` per ring member
 * on its own handle of one `MemoryTransport`, each user's session on its
 * owner, and one `Dispatcher` sending in `hash` or `broadcast` mode. The
 * whole run is this process, so its CPU is the cluster's, and the timed
 * round splits it by kind of work (see {@link CategoryClock}).
 */
import { MemoryTransport } from '../adapters/memory/transport.js';
import type { HashRing } from '../ring/hash-ring.js';
import { Dispatcher, type DispatchMode } from '../sessions/dispatcher.js';
import { SessionNode } from '../sessions/session-node.js';
import { CategoryClock, timeJson } from './category-clock.js';
import { Clients, attachMemoryUsers } from './clients.js';
import { CountingTransport } from './counting-transport.js';
import { measure } from './measure.js';
import { sendAll } from './send-loop.js';
import { NODE_OPTIONS, senderOptions } from './settings.js';
import { staticRouter } from './static-router.js';
import type { BenchCluster, BenchMessage, Progress, RunMeasure } from './types.js';
import { type WsSessions, attachWsUsers } from './ws-sockets.js';

export interface MemoryClusterOptions {
  readonly ring: HashRing;
  /** Node id -> the users whose sessions it holds (their owner on `ring`). */
  readonly sessions: ReadonlyMap<string, readonly string[]>;
  /** In-process sockets, or real WebSockets over loopback (see ws-sockets.ts). @default 'memory' */
  readonly sockets?: 'memory' | 'ws';
  /** Called with each background error of a part (none expected). */
  readonly onProblem: (message: string) => void;
}

/** Both modes on the same nodes: one `Dispatcher` each. */
export interface ModeClusters {
  readonly broadcast: BenchCluster;
  readonly hash: BenchCluster;
  /** Stops the senders and the nodes; never throws. */
  close(): Promise<void>;
}

export async function startMemoryCluster(options: MemoryClusterOptions): Promise<ModeClusters> {
  const clock = new CategoryClock();
  const router = staticRouter(options.ring, clock);
  const bus = new MemoryTransport();
  const wsSessions: WsSessions[] = [];
  const parts: Array<{ node: SessionNode; transport: CountingTransport; clients: Clients }> = [];
  const problem = (where: string) => (error: Error) => options.onProblem(`${where}: ${error.message}`);
  for (const [id, users] of options.sessions) {
    const transport = new CountingTransport(bus.connect(), clock, 'delivery');
    const node = await SessionNode.start({ ...NODE_OPTIONS, id, router, transport });
    node.on('error', problem(id));
    const clients = new Clients(clock);
    parts.push({ node, transport, clients });
    if (options.sockets === 'ws') wsSessions.push(await attachWsUsers(node, users, clients));
    else attachMemoryUsers(node, users, clients);
  }
  let round = 0;
  const senders: Dispatcher[] = [];
  const cluster = async (mode: DispatchMode): Promise<BenchCluster> => {
    const senderTransport = new CountingTransport(bus.connect(), clock, 'sender');
    const dispatcher = await Dispatcher.start({ ...senderOptions(), id: `bench-${mode}`, router, transport: senderTransport, mode });
    dispatcher.on('error', problem(`sender (${mode})`));
    senders.push(dispatcher);
    return {
      async run(messages: readonly BenchMessage[], progress: Progress, timed: boolean): Promise<RunMeasure> {
        round++;
        for (const part of parts) {
          part.transport.reset();
          part.clients.reset();
        }
        senderTransport.reset();
        const startWall = performance.now();
        const startCpu = process.cpuUsage();
        clock.reset(timed);
        const untimeJson = timed ? timeJson(clock) : null;
        let sent: Awaited<ReturnType<typeof sendAll>>;
        try {
          sent = await sendAll(dispatcher, senderTransport, messages, round, progress, timed ? clock : null, {
            onRefused: (error) => options.onProblem(`send refused: ${String(error)}`),
          });
        } finally {
          untimeJson?.();
        }
        const cpu = process.cpuUsage(startCpu);
        const wallMs = performance.now() - startWall;
        clock.on = false;
        const cpuMicros = cpu.user + cpu.system;
        return measure({
          messages,
          sent,
          visitsPerPublication: mode === 'broadcast' ? parts.length : 1,
          wallMs,
          nodes: parts.map((p) => ({ transport: p.transport.counts, clients: p.clients.counts() })),
          sender: senderTransport.counts,
          cpu: { totalMicros: cpuMicros, senderMicros: null, nodesMicros: null, serverMicros: null },
          split: timed ? clock.split(cpuMicros) : null,
          server: null,
        });
      },
      close: () => dispatcher.close().catch(() => undefined),
    };
  };
  const broadcast = await cluster('broadcast');
  const hash = await cluster('hash');
  return {
    broadcast,
    hash,
    async close(): Promise<void> {
      for (const sender of senders) await sender.close().catch(() => undefined);
      for (const part of parts) await part.node.close().catch(() => undefined);
      for (const ws of wsSessions) await ws.close().catch(() => undefined);
      await bus.close().catch(() => undefined);
    },
  };
}
