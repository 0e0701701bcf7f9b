import { randomBytes } from 'node:crypto';
import { Adapter, type BroadcastOptions, ClusterAdapter, type ClusterMessage, type ClusterResponse, MessageType, type Room } from 'socket.io-adapter';
import { AckCollector, PeerRequest } from './ack-collector.js';
import { encode } from './codec.js';
import { HoldDirectory, RecentIds } from './holds.js';
import { ReplayBuffer } from './replay.js';
import { StrayRooms, ownerIn } from './strays.js';
import { HOLD, UNHOLD, type WireMessage, type WireOptions, parseMessage } from './message.js';
import type { ResolvedOptions } from './options.js';
import { RingError } from '../errors.js';


type Ring = ResolvedOptions['router']['ring'];
type Local = (packet: unknown, opts: BroadcastOptions) => void;

/** Counters of one adapter (one namespace of one server). */
export interface SocketIoAdapterStats {
  /** Messages published to one node (a keyed room's owner or a forward), and to every node. */
  readonly sentRouted: number;
  readonly sentToEveryNode: number;
  /** Copies this node forwarded to nodes holding sockets in a keyed room it owns. */
  readonly forwarded: number;
  /** Messages received from other servers (after dropping duplicates), heartbeats included. */
  readonly received: number;
  /** Of those, packets to deliver to local sockets (a broadcast, with or without ack): the work a node does per emit. */
  readonly receivedPackets: number;
  /** Malformed, foreign, oversized or duplicate messages dropped. */
  readonly dropped: number;
  /** Keyed rooms this node holds sockets in without owning them. */
  readonly strays: number;
  /** Registrations of other nodes' strays held here as owner. */
  readonly holds: number;
  /** Other servers heard from. */
  readonly peers: number;
  /** Failures reported (publish, listen, bad messages). */
  readonly errors: number;
}

function randomId(): string {
  return randomBytes(8).toString('hex');
}

const NO_NODES: string[] = [];

/** A cheap upper estimate of a message's encoded size, for the replay buffer's byte bound (encoding it only for that would cost more). */
function estimateSize(data: unknown): number {
  const packet = (data as { packet?: { data?: unknown } } | undefined)?.packet?.data;
  let size = 256;
  if (Array.isArray(packet)) {
    for (const item of packet) {
      if (typeof item === 'string') size += item.length * 3;
      else if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) size += Math.ceil((item.byteLength * 4) / 3);
      else if (item !== null && typeof item === 'object') size += 1024;
      else size += 24;
    }
  }
  return size;
}

function wireOptions(opts: BroadcastOptions): WireOptions {
  return { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: { ...(opts.flags ?? {}) } };
}

function localOptions(opts: WireOptions): BroadcastOptions {
  return { rooms: new Set(opts.rooms), except: new Set(opts.except), flags: opts.flags };
}


/**
 * A Socket.IO cluster adapter that sends a keyed room's packets to the one
 * server that owns the key (see `docs/socketio.md`). Created by
 * {@link createAdapter}; one instance per namespace per server.
 */
export class RingrouteAdapter extends ClusterAdapter {
  readonly #o: ResolvedOptions;
  readonly #all: string;
  readonly #prefix: string;
  readonly #peers = new Map<string, { node: string; seen: number }>();
  readonly #strays: StrayRooms;
  readonly #holds: HoldDirectory;
  readonly #recent: RecentIds;
  readonly #replay: ReplayBuffer;
  /** Length of the message being handled, for the replay buffer's byte bound. */
  #receivedSize = 0;
  readonly #unlisten: Array<() => Promise<void>> = [];
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #ring: Ring;
  #previousRing: Ring | undefined;
  #changedAt = Number.NEGATIVE_INFINITY;
  #seq = 0;
  /** Every node's id but this one's (peers heard from and ring members); dropped when either changes. */
  #everyNodeCache: string[] | undefined;
  #closed = false;
  readonly #stats = { sentRouted: 0, sentToEveryNode: 0, forwarded: 0, received: 0, receivedPackets: 0, dropped: 0, errors: 0 };
  readonly #warned = new Set<string>();

  constructor(nsp: { name: string; server?: { opts?: { connectionStateRecovery?: unknown } } }, options: ResolvedOptions) {
    super(nsp);
    if (nsp.server?.opts?.connectionStateRecovery) {
      throw new RingError(
        'INVALID_OPTION',
        'ringroute/socket.io does not support connectionStateRecovery: a keyed room is delivered by its owner only, so no server has every missed packet. Remove connectionStateRecovery from the Server options.',
      );
    }
    this.#o = options;
    this.#prefix = `${options.prefix}:${nsp.name}:`;
    this.#all = `${this.#prefix}all`;
    this.#holds = new HoldDirectory(options.maxHolds, options.holdRefreshMs * 3);
    this.#recent = new RecentIds(options.maxRecentIds);
    this.#replay = new ReplayBuffer(options.replayMs, options.maxReplayBytes);
    this.#ring = options.router.ring;
    this.#strays = new StrayRooms(options.nodeId, options.roomKey, (owner, type, rooms) => {
      this.#publishTo([this.#address(owner)], { type, data: { rooms } }).catch(() => undefined);
    });
    // A socket's own room is never a key here.
    this.on('create-room', (room: Room) => this.sids.has(room) || this.#strays.created(room, this.#ring));
    this.on('delete-room', (room: Room) => this.#strays.deleted(room));
    options.router.on('change', this.#onChange);
  }

  /** This server's counters. */
  stats(): SocketIoAdapterStats {
    return { ...this.#stats, strays: this.#strays.size, holds: this.#holds.size, peers: this.#peers.size };
  }

  override async init(): Promise<void> {
    try {
      const listener = (text: string): void => this.#receive(text);
      const onError = (error: Error): void => this.#report('transport', error);
      // Its own address first: a peer's heartbeat heard on the shared address gets an answer, after which the
      // peer counts this server and may send to its address at once.
      this.#unlisten.push(await this.#o.transport.listen(this.#address(this.#o.nodeId), listener, onError));
      this.#unlisten.push(await this.#o.transport.listen(this.#all, listener, onError));
    } catch (error) {
      this.#report('listen', error);
      throw error;
    }
    if (this.#closed) return;
    this.publish({ type: MessageType.INITIAL_HEARTBEAT });
    const heartbeat = setInterval(() => this.publish({ type: MessageType.HEARTBEAT }), this.#o.heartbeatIntervalMs);
    const sweep = setInterval(() => this.#sweep(), Math.min(1000, this.#o.heartbeatTimeoutMs / 2));
    const refresh = setInterval(() => {
      this.#holds.prune(Date.now());
      this.#strays.refresh();
    }, this.#o.holdRefreshMs);
    for (const timer of [heartbeat, sweep, refresh]) {
      timer.unref?.();
      this.#timers.push(timer);
    }
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.router.off('change', this.#onChange);
    for (const timer of this.#timers) clearInterval(timer);
    this.#strays.close();
    await this.#publishTo([this.#all], { type: MessageType.ADAPTER_CLOSE }).catch(() => undefined);
    await Promise.all(this.#unlisten.map((stop) => stop().catch(() => undefined)));
  }

  override serverCount(): Promise<number> {
    return Promise.resolve(1 + this.#peers.size);
  }

  // Local delivery does not wait for the publish: a packet to a local keyed
  // room and an earlier one to every node then reach a local socket in order.
  override async broadcast(packet: unknown, opts: BroadcastOptions): Promise<void> {
    if (opts.flags?.local !== true) this.#send({ type: MessageType.BROADCAST, data: { packet, opts: wireOptions(opts) } });
    (Adapter.prototype.broadcast as Local).call(this, packet, opts);
  }

  override broadcastWithAck(packet: unknown, opts: BroadcastOptions, clientCountCallback: (clientCount: number) => void, ack: (...args: unknown[]) => void): void {
    if (opts.flags?.local !== true) {
      const requestId = randomId();
      const asked = this.#send({ type: MessageType.BROADCAST, data: { packet, requestId, opts: wireOptions(opts) } }, true);
      const collector = new AckCollector(this.#peers.size, asked, clientCountCallback, ack);
      this.#ackRequests.set(requestId, collector);
      // Socket.IO's operator gives up at its timeout; forget the request then.
      setTimeout(() => this.#ackRequests.delete(requestId), opts.flags?.timeout ?? this.#o.requestTimeoutMs).unref?.();
    }
    Adapter.prototype.broadcastWithAck.call(this, packet, opts, clientCountCallback, ack);
  }

  override async fetchSockets(opts: BroadcastOptions): Promise<any[]> {
    const local = await Adapter.prototype.fetchSockets.call(this, opts);
    if (opts.flags?.local === true) return local;
    const requestId = randomId();
    const asked = this.#send({ type: MessageType.FETCH_SOCKETS, data: { requestId, opts: wireOptions(opts) } }, true);
    return new Promise((resolve, reject) => {
      const request = new PeerRequest(asked, local, opts.flags?.timeout ?? this.#o.requestTimeoutMs, (error, sockets) => {
        this.#requests.delete(requestId);
        if (error === null) resolve(sockets);
        else reject(error);
      });
      if (!request.done) this.#requests.set(requestId, { request, by: 'node' });
    });
  }

  override async serverSideEmit(packet: unknown[]): Promise<void> {
    const last = packet[packet.length - 1];
    if (typeof last !== 'function') {
      this.#publishTo([this.#all], { type: MessageType.SERVER_SIDE_EMIT, data: { packet } }).catch(() => undefined);
      return;
    }
    const ack = packet.pop() as (error: Error | null, responses: unknown[]) => void;
    const requestId = randomId();
    const request = new PeerRequest(this.#peers.keys(), [], this.#o.requestTimeoutMs, (error, responses) => {
      this.#requests.delete(requestId);
      ack(error, responses);
    });
    if (request.done) return;
    this.#requests.set(requestId, { request, by: 'uid' });
    this.#publishTo([this.#all], { type: MessageType.SERVER_SIDE_EMIT, data: { requestId, packet } }).catch(() => undefined);
  }

  protected override doPublish(message: ClusterMessage): Promise<string> {
    const wire = message as unknown as WireMessage;
    if ('data' in message && (message.data as { opts?: unknown }).opts !== undefined) {
      this.#send(wire);
      return Promise.resolve('');
    }
    return this.#publishTo([this.#all], wire).then(() => '');
  }

  protected override doPublishResponse(requesterUid: string, response: ClusterResponse): Promise<void> {
    const node = this.#peers.get(requesterUid)?.node;
    if (node === undefined) return Promise.resolve();
    return this.#publishTo([this.#address(node)], response as unknown as WireMessage).then(() => undefined);
  }

  // ----- sending -----

  /**
   * Publishes a message with broadcast options where it must go: to the
   * owners of its rooms when every room is a key, else to every node. When
   * this node owns one of the rooms, it forwards to the nodes registered for
   * them itself, and keeps the message for a registration still on its way
   * (see {@link ReplayBuffer}). Returns the nodes that will answer it, when
   * `track` (a request waits for them). Synchronous up to the publishes, so
   * two calls keep their order on every node's address.
   */
  #send(message: Partial<WireMessage> & { type: number }, track = false): string[] {
    const opts = (message.data as { opts: WireOptions }).opts;
    const owners = this.#owners(opts.rooms);
    if (owners === undefined) {
      const nodes = this.#everyNode();
      this.#stats.sentToEveryNode++;
      this.#publishTo(nodes.map((node) => this.#address(node)), message).catch(() => undefined);
      return track ? this.#answering(nodes) : [];
    }
    message.id = `${this.uid}:${(this.#seq++).toString(36)}`;
    const remote: string[] = [];
    for (const node of owners) if (node !== this.#o.nodeId) remote.push(node);
    this.#stats.sentRouted += remote.length;
    const published = this.#publishTo(remote.map((node) => this.#address(node)), message);
    const forwarded = owners.has(this.#o.nodeId)
      ? this.#forward({ ...message, uid: this.uid, nsp: this.nsp.name, node: this.#o.nodeId } as WireMessage, message.data!, estimateSize(message.data))
      : [];
    if (!track) {
      published.catch(() => undefined);
      return [];
    }
    // Nobody listening at an owner's address: it will not answer, stop waiting for it.
    published.then((reached) => this.#noListener(remote, reached), () => undefined);
    return [...this.#answering(remote), ...forwarded];
  }

  /** The owners of `rooms` when every one is a key, else undefined (ask every node). */
  #owners(rooms: readonly string[]): Set<string> | undefined {
    if (rooms.length === 0) return undefined;
    const owners = new Set<string>();
    for (const room of rooms) {
      const key = this.#o.roomKey(room);
      if (key === undefined) return undefined;
      const owner = ownerIn(this.#ring, key);
      if (owner === undefined) return undefined;
      owners.add(owner);
    }
    return owners;
  }

  /** The nodes a keyed message must also reach from here: holders of its rooms, and within the grace period the previous owners. */
  #forwardTargets(rooms: readonly string[], grace: boolean): Set<string> {
    const now = Date.now();
    const targets = new Set<string>();
    const inGrace = grace && this.#previousRing !== undefined && now - this.#changedAt < this.#o.handoffGraceMs;
    if (!inGrace && this.#holds.size === 0 && this.#holds.overflowed === 0) return targets;
    for (const room of rooms) {
      const key = this.#o.roomKey(room);
      if (key === undefined) continue;
      this.#holds.holdersOf(room, targets, now);
      if (inGrace) {
        const previous = ownerIn(this.#previousRing, key);
        if (previous !== undefined && previous !== this.#o.nodeId && previous !== ownerIn(this.#ring, key)) targets.add(previous);
      }
    }
    return targets;
  }

  #everyNode(): string[] {
    if (this.#everyNodeCache !== undefined) return this.#everyNodeCache;
    const nodes = new Set<string>();
    for (const peer of this.#peers.values()) nodes.add(peer.node);
    for (const node of this.#ring.nodes()) nodes.add(node.id);
    nodes.delete(this.#o.nodeId);
    this.#everyNodeCache = [...nodes];
    return this.#everyNodeCache;
  }

  /** Of the nodes a request went to, those that will answer: the peers heard from. */
  #answering(nodes: readonly string[]): string[] {
    const known = new Set<string>();
    for (const peer of this.#peers.values()) known.add(peer.node);
    return nodes.filter((node) => known.has(node));
  }

  #noListener(nodes: readonly string[], reached: readonly number[]): void {
    nodes.forEach((node, i) => {
      if (reached[i] === 0) this.#nodeGone(node);
    });
  }

  /** Publishes one encoding of `message` to each address; resolves to the listeners each reached. */
  #publishTo(addresses: readonly string[], message: Partial<WireMessage>): Promise<number[]> {
    if (addresses.length === 0) return Promise.resolve([]);
    const text = encode({ ...message, uid: this.uid, nsp: this.nsp.name, node: this.#o.nodeId });
    if (text.length * 3 > this.#o.maxMessageBytes && Buffer.byteLength(text) > this.#o.maxMessageBytes) {
      const error = new RingError('INVALID_OPTION', `a Socket.IO message of ${Buffer.byteLength(text)} bytes is over maxMessageBytes (${this.#o.maxMessageBytes}); it was not sent`);
      this.#report('oversized', error);
      return Promise.reject(error);
    }
    const failed = (error: unknown): never => {
      this.#report('publish', error);
      throw error;
    };
    if (addresses.length === 1) return this.#o.transport.publish(addresses[0]!, text).then((reached) => [reached], failed);
    return Promise.all(addresses.map((address) => this.#o.transport.publish(address, text).catch(failed)));
  }

  #address(node: string): string {
    return `${this.#prefix}node:${node}`;
  }

  // ----- receiving -----

  #receive(text: string): void {
    this.#receivedSize = text.length;
    const parsed = parseMessage(text, this.#o.maxMessageBytes);
    if (typeof parsed === 'string') {
      this.#stats.dropped++;
      this.#report('malformed', new Error(`ringroute/socket.io dropped a message on ${this.nsp.name}: ${parsed}`));
      return;
    }
    if (parsed.uid === this.uid) return;
    if (parsed.nsp !== this.nsp.name) {
      this.#stats.dropped++;
      this.#report('foreign', new Error(`ringroute/socket.io dropped a message for namespace ${JSON.stringify(parsed.nsp)} heard on ${JSON.stringify(this.nsp.name)}`));
      return;
    }
    if (parsed.id !== undefined && this.#recent.seen(`${parsed.uid}|${parsed.id}`)) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.received++;
    try {
      this.#handle(parsed);
    } catch (error) {
      this.#report('handler', error);
    }
  }

  #handle(message: WireMessage): void {
    if (message.type === MessageType.ADAPTER_CLOSE) {
      this.#peerGone(message.uid);
      return;
    }
    const peer = this.#peers.get(message.uid);
    const isNew = peer === undefined;
    if (peer === undefined) {
      this.#peers.set(message.uid, { node: message.node, seen: Date.now() });
      this.#everyNodeCache = undefined;
    } else peer.seen = Date.now();
    const data = message.data ?? {};
    switch (message.type) {
      case MessageType.INITIAL_HEARTBEAT:
        this.publish({ type: MessageType.HEARTBEAT });
        // A (re)started owner knows nothing of the strays it should forward to.
        if (isNew) this.#strays.resendTo(message.node);
        return;
      case MessageType.HEARTBEAT:
        return;
      case HOLD: {
        const now = Date.now();
        const { added, refused } = this.#holds.hold(message.node, data.rooms as string[], now);
        if (refused > 0) this.#report('holds-full', new Error(`ringroute/socket.io: ${refused} held rooms of node ${message.node} did not fit in maxHolds (${this.#o.maxHolds}); every keyed message is forwarded to it meanwhile`));
        if (added.size > 0) this.#replayTo(message.node, added, now);
        return;
      }
      case UNHOLD:
        this.#holds.unhold(message.node, data.rooms as string[]);
        return;
      case MessageType.BROADCAST:
        this.#onBroadcast(message, data);
        return;
      case MessageType.FETCH_SOCKETS:
        this.#onFetch(message, data);
        return;
      case MessageType.SOCKETS_JOIN:
      case MessageType.SOCKETS_LEAVE:
      case MessageType.DISCONNECT_SOCKETS:
        this.#forward(message, data);
        super.onMessage(message as unknown as ClusterMessage);
        return;
      case MessageType.SERVER_SIDE_EMIT:
        super.onMessage(message as unknown as ClusterMessage);
        return;
      default:
        this.#onResponse(message, data);
    }
  }

  /** Forwards a keyed message to the nodes holding sockets in its rooms; returns them. */
  #forward(message: WireMessage, data: Record<string, unknown>, size = this.#receivedSize): string[] {
    if (message.id === undefined || message.f === 2) return [];
    const targets = this.#forwardTargets((data.opts as WireOptions).rooms, message.f === undefined);
    targets.delete(this.#o.nodeId);
    targets.delete(message.node);
    const nodes = targets.size === 0 ? NO_NODES : [...targets];
    // As the owner (first hop), keep it for a registration that arrives late.
    if (message.f === undefined) this.#replay.add(message, size, nodes, Date.now());
    if (nodes.length === 0) return nodes;
    this.#stats.forwarded += nodes.length;
    // Keep the origin's uid and node: responses go straight back to it.
    const copy = encode({ ...message, f: (message.f ?? 0) + 1 });
    for (const node of nodes) {
      this.#o.transport.publish(this.#address(node), copy).catch((error: unknown) => this.#report('publish', error));
    }
    return nodes;
  }

  /** Sends `node` the keyed packets this owner handled in the replay window for rooms it just registered. */
  #replayTo(node: string, rooms: ReadonlySet<string>, now: number): void {
    const missed = this.#replay.take(node, rooms, now);
    if (missed.length === 0) return;
    if (this.#replay.overflowed(now)) {
      this.#report('replay-full', new Error(`ringroute/socket.io: node ${node} registered late and some packets of the last ${this.#o.replayMs} ms were already dropped (maxReplayBytes ${this.#o.maxReplayBytes}); it may have missed them`));
    }
    this.#stats.forwarded += missed.length;
    for (const message of missed) {
      this.#o.transport.publish(this.#address(node), encode({ ...message, f: 1 })).catch((error: unknown) => this.#report('publish', error));
    }
  }

  #onBroadcast(message: WireMessage, data: Record<string, unknown>): void {
    this.#stats.receivedPackets++;
    const forwardedTo = this.#forward(message, data);
    const opts = localOptions(data.opts as WireOptions);
    const requestId = data.requestId as string | undefined;
    if (requestId === undefined) {
      (Adapter.prototype.broadcast as Local).call(this, data.packet, opts);
      return;
    }
    const respond = (response: Omit<WireMessage, 'uid' | 'nsp' | 'node'>): void => {
      this.#publishTo([this.#address(message.node)], response).catch(() => undefined);
    };
    Adapter.prototype.broadcastWithAck.call(
      this,
      data.packet,
      opts,
      (clientCount: number) => respond({ type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId, clientCount, fw: forwardedTo } }),
      (arg: unknown) => respond({ type: MessageType.BROADCAST_ACK, data: { requestId, packet: arg } }),
    );
  }

  #onFetch(message: WireMessage, data: Record<string, unknown>): void {
    const forwardedTo = this.#forward(message, data);
    void Adapter.prototype.fetchSockets.call(this, localOptions(data.opts as WireOptions)).then((sockets) => {
      const plain = sockets.map((socket: { id: string; handshake: Record<string, unknown>; rooms: Set<string>; data: unknown }) => {
        // The session store may hold circular references (as in socket.io-adapter).
        const { sessionStore: _store, ...handshake } = socket.handshake;
        return { id: socket.id, handshake, rooms: [...socket.rooms], data: socket.data };
      });
      this.#publishTo([this.#address(message.node)], {
        type: MessageType.FETCH_SOCKETS_RESPONSE,
        data: { requestId: data.requestId, sockets: plain, fw: forwardedTo },
      }).catch(() => undefined);
    });
  }

  #onResponse(message: WireMessage, data: Record<string, unknown>): void {
    const requestId = data.requestId as string;
    switch (message.type) {
      case MessageType.BROADCAST_CLIENT_COUNT:
        this.#ackRequests.get(requestId)?.counted(message.node, data.clientCount as number, (data.fw as string[] | undefined) ?? []);
        return;
      case MessageType.BROADCAST_ACK:
        this.#ackRequests.get(requestId)?.acked(message.node, data.packet);
        return;
      case MessageType.FETCH_SOCKETS_RESPONSE: {
        const entry = this.#requests.get(requestId);
        if (entry?.by === 'node') entry.request.answered(message.node, data.sockets as unknown[], (data.fw as string[] | undefined) ?? []);
        return;
      }
      case MessageType.SERVER_SIDE_EMIT_RESPONSE: {
        const entry = this.#requests.get(requestId);
        if (entry?.by === 'uid') entry.request.answered(message.uid, [data.packet]);
        return;
      }
    }
  }

  // ----- peers -----

  #sweep(): void {
    const now = Date.now();
    for (const [uid, peer] of this.#peers) if (now - peer.seen > this.#o.heartbeatTimeoutMs) this.#peerGone(uid);
  }

  #peerGone(uid: string): void {
    const peer = this.#peers.get(uid);
    if (peer === undefined) return;
    this.#peers.delete(uid);
    this.#everyNodeCache = undefined;
    for (const { request, by } of this.#requests.values()) if (by === 'uid') request.gone(uid);
    for (const other of this.#peers.values()) if (other.node === peer.node) return;
    this.#nodeGone(peer.node);
    this.#holds.dropNode(peer.node);
  }

  #nodeGone(node: string): void {
    for (const collector of this.#ackRequests.values()) collector.gone(node);
    for (const { request, by } of this.#requests.values()) if (by === 'node') request.gone(node);
  }

  // ----- ring changes -----

  readonly #onChange = (): void => {
    this.#previousRing = this.#ring;
    this.#ring = this.#o.router.ring;
    this.#changedAt = Date.now();
    this.#everyNodeCache = undefined;
    const rooms = [...this.rooms.keys()].filter((room) => !this.sids.has(room));
    this.#strays.ringChanged(rooms, this.#ring);
  };

  // ----- plumbing -----

  get #ackRequests(): Map<string, AckCollector> {
    return (this as unknown as { ackRequests: Map<string, AckCollector> }).ackRequests;
  }

  get #requests(): Map<string, { request: PeerRequest; by: 'node' | 'uid' }> {
    return (this as unknown as { requests: Map<string, { request: PeerRequest; by: 'node' | 'uid' }> }).requests;
  }

  /** Reports a background failure: the adapter's `error` event when listened to, else one warning per kind. */
  #report(kind: string, error: unknown): void {
    this.#stats.errors++;
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount('error') > 0) {
      this.emit('error', err);
      return;
    }
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    process.emitWarning(`${err.message} (further ${kind} errors are counted in stats(); listen to the adapter's 'error' event to see each)`, 'RingrouteSocketIoWarning');
  }
}
