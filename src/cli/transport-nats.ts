/**
 * The nats transport: the pub/sub transport (see `transport-pubsub.ts`) on
 * core NATS, moving messages with the library's own `NatsTransport`
 * (`ringroute/nats`), not a copy of it: the gateway publishes through one
 * and every worker listens through its own, each on its own connection.
 *
 * The addresses are the library's too. A node listens at `node:<id>` (its
 * own, for hash) and at `all` (`BROADCAST_ADDRESS`, where every
 * `SessionNode` of `ringroute/sessions` listens for broadcast), which
 * NatsTransport maps to the subjects `<prefix>.sessions.node:<id>` and
 * `<prefix>.sessions.all`. NATS hands a message on a subject to every
 * subscription of it, so broadcast needs nothing NatsTransport lacks: its
 * "one listener per address" holds per transport handle, and each worker has
 * its own handle. Each cluster gets a fresh random prefix.
 *
 * Where this differs from the redis transport, because NatsTransport does:
 * `publish` resolves to 0 or 1, never a count (NATS does not count
 * receivers), so the gateway checks that no publish went unheard instead of
 * counting receivers (the nodes' own counts and checksums still check every
 * delivery); and each publish carries a reply subject and waits for a round
 * trip to the server (one per tick), which is how NatsTransport tells
 * "nobody listens" apart, and part of what it costs. The NATS server's CPU
 * is not measured (nats-server has no cumulative CPU counter to read), so the
 * CPU figures are the gateway's and the workers' only.
 */
import { BROADCAST_ADDRESS, nodeAddress } from '../sessions/wire.js';
import { closeNats, connectNats, loadNats } from './nats-client.js';
import { type NodeBus, type PubSubBackend, pubsubTransport } from './transport-pubsub.js';
import type { Transport } from './transport.js';
import type { WorkerCommand } from './worker-pool.js';

/** Options of {@link natsTransport}. */
export interface NatsTransportOptions {
  readonly url: string;
  /** Messages per second offered by the gateway; 0 = as fast as NATS takes them. */
  readonly rate: number;
  /** @default the CLI entry next to this module (through tsx when running from source) */
  readonly worker?: WorkerCommand;
  /** Longest wait for the server's handshake, in ms. @default NATS_CONNECT_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
}

/**
 * Connects the gateway to `url`.
 * @throws UsageError when a NATS package is missing; Error when the server cannot be reached.
 */
export async function natsTransport(options: NatsTransportOptions): Promise<Transport> {
  const { NatsTransport } = await loadNats();
  const nc = await connectNats(options.url, options.connectTimeoutMs);
  const backend: PubSubBackend = {
    name: 'nats',
    label: 'NATS',
    url: options.url,
    countsListeners: false,
    async publisher(prefix) {
      const transport = new NatsTransport({ nats: nc, prefix });
      return {
        publish: (nodeId, payload) => transport.publish(nodeId === null ? BROADCAST_ADDRESS : nodeAddress(nodeId), payload),
        close: () => transport.close(),
      };
    },
    serverCpuSeconds: async () => null,
    close: () => closeNats(nc),
  };
  return pubsubTransport(backend, options);
}

/** A worker's NATS connection: listens, through a NatsTransport of the cluster's prefix, as one node. */
export async function natsNodeBus(url: string): Promise<NodeBus> {
  const { NatsTransport } = await loadNats();
  const nc = await connectNats(url);
  let transport: InstanceType<typeof NatsTransport> | null = null;
  const leave = async (): Promise<void> => {
    const t = transport;
    transport = null;
    await t?.close();
  };
  return {
    async join(prefix, nodeId, onMessage, onError) {
      await leave();
      const t = new NatsTransport({ nats: nc, prefix });
      transport = t;
      await t.listen(BROADCAST_ADDRESS, onMessage, onError);
      await t.listen(nodeAddress(nodeId), onMessage, onError);
    },
    leave,
    async close() {
      await leave();
      await closeNats(nc);
    },
  };
}
