/**
 * A run's counts turned into its {@link RunMeasure}: the same arithmetic
 * for every transport, from what the nodes' and the sender's transport
 * handles heard and what the clients received.
 */
import type { ClientCounts } from './clients.js';
import { DeliveryChecksum } from './checksum.js';
import type { TransportCounts } from './counting-transport.js';
import type { SendResult } from './send-loop.js';
import type { BenchMessage, CpuMeasure, CpuSplit, RunMeasure } from './types.js';

export interface MeasureInput {
  readonly messages: readonly BenchMessage[];
  readonly sent: SendResult;
  /** Nodes a publication reaches: every node in broadcast, 1 in hash. */
  readonly visitsPerPublication: number;
  readonly wallMs: number;
  readonly nodes: ReadonlyArray<{ readonly transport: TransportCounts; readonly clients: ClientCounts }>;
  readonly sender: TransportCounts;
  readonly cpu: CpuMeasure;
  readonly split: CpuSplit | null;
  readonly server: RunMeasure['server'];
}

export function measure(input: MeasureInput): RunMeasure {
  let direct = 0;
  for (const m of input.messages) if (m.kind === 'direct') direct++;
  const checksum = new DeliveryChecksum();
  let delivered = 0;
  let duplicates = 0;
  let visits = 0;
  let useful = 0;
  let busMessages = input.sender.received;
  let busBytes = input.sender.receivedBytes;
  for (const { transport, clients } of input.nodes) {
    checksum.merge(clients.checksum);
    delivered += clients.delivered;
    duplicates += clients.duplicates;
    useful += clients.usefulVisits;
    visits += transport.deliveries;
    busMessages += transport.received;
    busBytes += transport.receivedBytes;
  }
  return {
    messages: input.messages.length,
    directMessages: direct,
    groupMessages: input.messages.length - direct,
    delivered,
    duplicates,
    checksum: checksum.toString(),
    notDelivered: input.sent.notDelivered,
    nodeVisits: visits,
    directVisits: input.sent.directPublications * input.visitsPerPublication,
    groupVisits: input.sent.groupPublications * input.visitsPerPublication,
    wastedVisits: Math.max(0, visits - useful),
    busMessages,
    busBytes,
    cpu: input.cpu,
    split: input.split,
    wallMs: input.wallMs,
    latenciesMs: input.sent.latenciesMs,
    server: input.server,
  };
}
