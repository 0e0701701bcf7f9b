/**
 * The messages the parts of the cluster exchange, in one place: node-to-node
 * deliveries and their outcomes (over the transport), and the frames between
 * an app node and a user's WebSocket.
 */

/** How the gateway sends a message to the nodes. */
export type Mode = 'broadcast' | 'hash';
/** What app nodes do with their sessions when the ring changes. */
export type Strategy = 'reconnect-all' | 'selective';
/** One-to-one or group traffic. */
export type TrafficKind = 'oneToOne' | 'group';

export const MODES: readonly Mode[] = ['broadcast', 'hash'];
export const STRATEGIES: readonly Strategy[] = ['reconnect-all', 'selective'];

/** How long a message may wait for its recipient (held by the new owner) before it is reported failed. */
export const DEFAULT_GRACE_MS = 10_000;
/** A node forwards a delivery to the owner at most this many times before holding it itself. */
export const MAX_HOPS = 3;

/** A message on its way to some of its recipients, published to one node or to all of them. */
export interface Delivery {
  readonly type: 'deliver';
  /** Message id, unique per message (a group message has one id for all members). */
  readonly id: string;
  readonly kind: TrafficKind;
  readonly from: string;
  /** The recipients this copy is for. */
  readonly to: readonly string[];
  readonly group?: string;
  readonly text: string;
  /** Gateway waiting for the outcome. */
  readonly replyTo: string;
  /** Time left to deliver, measured from publication; relative, so clocks of processes never matter. */
  readonly ttlMs: number;
  /** Node-to-node forwards so far. */
  readonly hops: number;
}

/**
 * What a node tells the gateway about one recipient of a message:
 * `ack` the user's client acknowledged it; `held` the node (the user's owner)
 * keeps it until the user connects; `fail` it cannot be delivered.
 */
export interface Outcome {
  readonly type: 'ack' | 'held' | 'fail';
  readonly id: string;
  readonly user: string;
  readonly node: string;
  readonly reason?: string;
}

/** Anything sent over the transport. */
export type Wire = Delivery | Outcome;

/** Frames from a node to a user's WebSocket. */
export type ServerFrame =
  | { readonly type: 'welcome'; readonly node: string }
  | { readonly type: 'msg'; readonly id: string; readonly from: string; readonly to: string; readonly group?: string; readonly text: string }
  /** Reconnect: `url` is the user's owner now (the node itself under `reconnect-all`). */
  | { readonly type: 'move'; readonly node: string; readonly url: string };

/** Frames from a user's WebSocket to its node. */
export type ClientFrame = { readonly type: 'ack'; readonly id: string };

/** WebSocket close code a node uses when it sends a session elsewhere. */
export const CLOSE_MOVED = 4001;

/** Transport channel names of one cluster (`prefix` is shared by all its processes). */
export interface Channels {
  /** Every node listens here: broadcast mode. */
  readonly all: string;
  /** One node's own channel: hash mode and forwards. */
  node(id: string): string;
  /** One gateway's channel for outcomes. */
  gateway(id: string): string;
}

export function channels(prefix: string): Channels {
  const tag = `{${prefix}}:chat`;
  return {
    all: `${tag}:all`,
    node: (id) => `${tag}:node:${id}`,
    gateway: (id) => `${tag}:gw:${id}`,
  };
}

/** A user id the example accepts: short, printable, no separators that would need escaping. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.:-]{1,64}$/.test(value);
}
