/**
 * Starting the cluster's parts. The scenario drives a {@link ClusterHandle}
 * and never knows whether the parts are objects in this process (memory
 * adapters, in-process bus) or OS processes talking through Redis or NATS
 * (process-cluster.ts): it reaches both over HTTP.
 */
import { type MembershipAdapter, MemoryMembership, MemoryRingStore, MemoryTransport, type RingNode, RingRouter, type RingStore, type Transport } from 'ringroute';
import type { GatewayLimits } from 'ringroute/gateway';
import { AppNode } from './app-node.js';
import { Gateway } from './gateway.js';
import type { Mode, Strategy } from './protocol.js';

export interface ClusterHandle {
  /** `memory`, or the engine of the processes (`redis`, `nats`). */
  readonly kind: 'memory' | 'redis' | 'nats';
  /** Gateways' base URLs, `http://host:port`. */
  readonly gateways: readonly string[];
  /** Gateways' admin URLs (behind the admin token), in the order of `gateways`. */
  readonly admins: readonly string[];
  /** Live app nodes: id to `ws://host:port`. */
  readonly nodes: ReadonlyMap<string, string>;
  /** Live app nodes: id to their admin URL `http://host:port` (`/stats`, `/admin/strategy`, behind the admin token). */
  readonly nodeAdmins: ReadonlyMap<string, string>;
  /** Starts an app node and joins it to the cluster. */
  startNode(id: string, strategy: Strategy): Promise<void>;
  /** Stops a node gracefully: it leaves and hands its sessions over. */
  stopNode(id: string): Promise<void>;
  /** Stops every part gracefully: gateways first (each pending send gets its outcome), then the nodes leave and close their sessions with 4005 (going away). */
  shutdown(): Promise<void>;
  /** Kills a node abruptly: in-process its server is destroyed and its membership abandoned; as a process, SIGKILL. */
  killNode(id: string): Promise<void>;
  /** Joins a member that is not an app node (the attack phase registers bad URLs); resolves to its leave. */
  joinMember(node: RingNode): Promise<() => Promise<void>>;
  /** A router on the cluster's store, to see who owns what (closed by the caller). */
  router(): Promise<RingRouter>;
  close(): Promise<void>;
}

/** What every part of one cluster shares. */
export interface ClusterSettings {
  readonly gateways: number;
  readonly nodes: readonly string[];
  readonly strategy: Strategy;
  readonly mode: Mode;
  readonly graceMs: number;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  /** HS256 secret of the user tokens (unless `insecure`). */
  readonly secret: string;
  /** Bearer token of the admin endpoints. */
  readonly adminToken: string;
  /** Local demo without authentication. */
  readonly insecure?: boolean;
  /** Limits of the gateways. */
  readonly limits?: GatewayLimits;
  /** Pace of each node's "moved" closes after a ring change. @default SessionNode's (1000) */
  readonly closesPerSecond?: number;
  /** Fixed ports of the first gateway (public, admin); any free port otherwise. */
  readonly ports?: { readonly gateway?: number; readonly admin?: number };
  readonly log?: (line: string) => void;
  /** Memory backends to share with the caller (the admin port connects its own handles); the caller closes them. @default new ones */
  readonly backends?: { readonly store: MemoryRingStore; readonly membership: MemoryMembership };
}

/** The `port`/`adminPort` options of the first gateway. */
export function firstPorts(settings: ClusterSettings): { port?: number; adminPort?: number } {
  return { ...(settings.ports?.gateway !== undefined ? { port: settings.ports.gateway } : {}), ...(settings.ports?.admin !== undefined ? { adminPort: settings.ports.admin } : {}) };
}

/** The credentials every part gets. */
export function credentials(settings: ClusterSettings) {
  return { adminToken: settings.adminToken, ...(settings.insecure === true ? { insecure: true } : { secret: settings.secret }) };
}

/** Adapters of one part (a gateway or a node): its own handles on the shared backends. */
export interface PartAdapters {
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  readonly transport: Transport;
  close(): Promise<void>;
}

/** A handle's live app nodes: what it holds for each, and their URLs (the maps {@link ClusterHandle} shows). */
export class LiveNodes<T> {
  readonly parts = new Map<string, T>();
  readonly urls = new Map<string, string>();
  readonly adminUrls = new Map<string, string>();

  add(id: string, part: T, url: string, adminUrl: string): void {
    this.parts.set(id, part);
    this.urls.set(id, url);
    this.adminUrls.set(id, adminUrl);
  }

  /** Removes node `id` and returns what was held for it; throws when it is not live. */
  take(id: string): T {
    const part = this.parts.get(id);
    if (part === undefined) throw new Error(`no live node ${id}`);
    this.parts.delete(id);
    this.urls.delete(id);
    this.adminUrls.delete(id);
    return part;
  }
}

/** Everything in this process: MemoryRingStore, MemoryMembership and MemoryTransport, one handle of each per part. */
export async function startMemoryCluster(settings: ClusterSettings): Promise<ClusterHandle> {
  const store = settings.backends?.store ?? new MemoryRingStore();
  const membership = settings.backends?.membership ?? new MemoryMembership({ ttlMs: settings.ttlMs, heartbeatMs: settings.heartbeatMs });
  const bus = new MemoryTransport();
  const adapters = (): PartAdapters => {
    const parts = { store: store.connect(), membership: membership.connect(), transport: bus.connect() };
    return {
      ...parts,
      close: async () => {
        await parts.membership.close();
        await parts.store.close();
        await parts.transport.close();
      },
    };
  };
  const log = settings.log ? { log: settings.log } : {};
  const gateways: Array<{ gateway: Gateway; adapters: PartAdapters }> = [];
  for (let i = 1; i <= settings.gateways; i++) {
    const a = adapters();
    const gateway = await Gateway.start({
      id: `gw-${i}`, ...a, ...credentials(settings), mode: settings.mode, graceMs: settings.graceMs, ...(settings.limits ? { limits: settings.limits } : {}), ...log,
      ...(i === 1 ? firstPorts(settings) : {}),
    });
    gateways.push({ gateway, adapters: a });
  }
  const nodes = new LiveNodes<{ node: AppNode; adapters: PartAdapters }>();
  const handle: ClusterHandle = {
    kind: 'memory',
    gateways: gateways.map((g) => g.gateway.url),
    admins: gateways.map((g) => g.gateway.adminUrl),
    nodes: nodes.urls,
    nodeAdmins: nodes.adminUrls,
    async startNode(id, strategy) {
      const a = adapters();
      const node = await AppNode.start({ id, ...a, ...credentials(settings), strategy, ...log, ...(settings.closesPerSecond !== undefined ? { maxClosesPerSecond: settings.closesPerSecond } : {}) });
      nodes.add(id, { node, adapters: a }, node.url, node.adminUrl);
    },
    async stopNode(id) {
      const { node, adapters: a } = nodes.take(id);
      await node.stop();
      await a.close();
    },
    async killNode(id) {
      const { node, adapters: a } = nodes.take(id);
      await node.kill(); // abandons its membership: it expires after ttlMs, as a crashed process would
      await a.close();
    },
    async joinMember(node) {
      const m = membership.connect();
      const member = await m.join(node);
      return async () => {
        await member.leave();
        await m.close();
      };
    },
    async router() {
      return RingRouter.start({ store: store.connect(), resyncMs: 200 });
    },
    async shutdown() {
      for (const { gateway } of gateways) await gateway.drain();
      await Promise.all([...nodes.parts.values()].map(({ node }) => node.shutdown()));
      await handle.close();
    },
    async close() {
      for (const id of [...nodes.parts.keys()]) await handle.killNode(id);
      for (const { gateway, adapters: a } of gateways) {
        await gateway.close();
        await a.close();
      }
      if (settings.backends === undefined) {
        await membership.close();
        await store.close();
      }
      await bus.close();
    },
  };
  for (const id of settings.nodes) await handle.startNode(id, settings.strategy);
  return handle;
}
