/**
 * How many processes a run needs, from the one limit that decides it: the
 * file descriptors a process may hold (`ulimit -n`, often a hard limit in
 * containers). Every socket is one. A simulated user costs descriptors in
 * the processes its connection passes through:
 *
 *   proxy user   gateway: inbound + hop to the node (2)   node: inbound (1)
 *   route user   gateway: none once its GET /route is answered  node: 1
 *   every user   its own user process: 1 (plus a few pooled HTTP sockets)
 *
 * In memory mode the gateways and nodes share the scenario's process, so a
 * proxy user costs 3 there and a route user 1; a run that cannot fit is
 * refused before anything starts. On Redis or NATS each gateway and node
 * is a process of its own: the plan gives the gateways as many processes as the
 * proxied users need and refuses a node count whose share does not fit.
 */
import { readFileSync } from 'node:fs';
import type { Via } from './client.js';

/** Where the process's limit cannot be read: the usual shell default. */
export const FALLBACK_LIMIT = 1024;
/** Descriptors the scenario's process keeps for everything but the users' sockets: admin and /send requests (an agent of 256), the attack phase, Redis, stdio. */
export const SCENARIO_RESERVE = 2000;
/** Share of a user process's limit its users' sockets may take: the rest is for its HTTP pools and reconnects in flight. */
export const PROCESS_SHARE = 0.8;
/** Descriptors a gateway or node keeps for everything but its users' sockets (Redis, admin, logs): the library's default `reservedDescriptors`. */
export const RESERVED_DESCRIPTORS = 512;
/** Share of a gateway's budget its tunnels may take: the library's default `maxTunnels` is 0.45 of the budget, 2 descriptors each. */
export const TUNNEL_SHARE = 0.9;
/** Most users in one user process (each holds one socket, plus its HTTP pool). */
export const MAX_USERS_PER_PROCESS = 15_000;
/** A node's share of the users times this must fit its limit: consistent hashing is uneven by a few percent, and moves briefly hold two sockets. */
export const NODE_HEADROOM = 1.3;

/** The process's open-file soft limit (the one enforced), from /proc/self/limits; {@link FALLBACK_LIMIT} where unreadable. */
export function descriptorLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number {
  try {
    const line = read().split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : FALLBACK_LIMIT;
  } catch {
    return FALLBACK_LIMIT;
  }
}

/** Users that connect through the gateways' proxy (`mixed`: every other one). */
export function proxiedUsers(users: number, via: Via | 'mixed'): number {
  return via === 'proxy' ? users : via === 'route' ? 0 : Math.ceil(users / 2);
}

/** Descriptors the users cost in the one process of the memory mode (gateways and nodes together). */
export function memoryCost(users: number, via: Via | 'mixed'): number {
  const proxied = proxiedUsers(users, via);
  return proxied * 3 + (users - proxied);
}

/** Most users the memory mode holds at once with `limit` descriptors. */
export function memoryCapacity(limit: number, via: Via | 'mixed'): number {
  const room = Math.max(0, limit - SCENARIO_RESERVE);
  const perUser = via === 'proxy' ? 3 : via === 'route' ? 1 : 2;
  let users = Math.floor(room / perUser);
  while (users > 0 && memoryCost(users, via) > room) users--; // mixed rounds the proxied half up
  return users;
}

/** Processes of a run, and the budget each keeps. */
export interface ProcessPlan {
  readonly limit: number;
  /** User processes and the users of each (the last may hold fewer). */
  readonly userProcesses: number;
  readonly usersPerProcess: number;
  /** Gateway processes on Redis or NATS (at least the scenario's 2); 2 in memory mode. */
  readonly gateways: number;
  /** Sessions a node holds in its share (users / nodes). */
  readonly nodeShare: number;
  /** Descriptors a gateway or node may give to sockets: its limit less {@link RESERVED_DESCRIPTORS}. */
  readonly budget: number;
}

/** Users one user process may hold with `limit` descriptors. */
export function usersPerProcess(limit: number): number {
  return Math.max(1, Math.min(MAX_USERS_PER_PROCESS, Math.floor(limit * PROCESS_SHARE)));
}

/**
 * Plans a run, or says in one line why it cannot run on this machine (its
 * descriptor limit): the memory mode past its capacity, or a node that
 * could not hold its share.
 */
export function planProcesses(run: { users: number; nodes: number; via: Via | 'mixed'; processes: boolean; gateways?: number }, limit = descriptorLimit()): ProcessPlan | string {
  const { users, nodes, via } = run;
  const minGateways = run.gateways ?? 2;
  const perProcess = usersPerProcess(limit);
  const userProcesses = Math.max(1, Math.ceil(users / perProcess));
  const spread = Math.ceil(users / userProcesses);
  if (!run.processes) {
    const capacity = memoryCapacity(limit, via);
    if (users > capacity) {
      return `--users ${users} does not fit in memory mode: the whole cluster shares one process, limited to ${limit} descriptors (ulimit -n), which holds at most ${capacity} users with --via ${via}; run on Redis or NATS (--redis URL or --nats URL, a process per gateway and node) to go bigger`;
    }
    return { limit, userProcesses, usersPerProcess: spread, gateways: minGateways, nodeShare: Math.ceil(users / nodes), budget: limit };
  }
  const budget = Math.max(1, limit - RESERVED_DESCRIPTORS);
  const nodeShare = Math.ceil(users / nodes);
  if (nodeShare * NODE_HEADROOM > budget) {
    return `--users ${users} over --nodes ${nodes} gives each node ${nodeShare} sessions, x ${NODE_HEADROOM} headroom > its budget of ${budget} descriptors (ulimit -n ${limit} less ${RESERVED_DESCRIPTORS}): use at least --nodes ${Math.ceil((users * NODE_HEADROOM) / budget)}`;
  }
  // Proxied users cost 2 on a gateway (inbound + hop), within the tunnels' share of its budget.
  const gateways = Math.max(minGateways, Math.ceil((proxiedUsers(users, via) * 2) / (TUNNEL_SHARE * budget)));
  return { limit, userProcesses, usersPerProcess: spread, gateways, nodeShare, budget };
}
