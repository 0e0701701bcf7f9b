/**
 * Hosts for the chaos run: each gateway and app node runs in a network
 * namespace of its own (`ip netns`), joined by a veth pair to a private
 * bridge in this namespace, where the runner, the users and the Redis set
 * live. The addresses are the run's own (10.X.0.0/24, never routed
 * anywhere): `.1` is this side (users), `.2` the store (Redis and
 * Sentinels), `.10` and up the hosts.
 *
 * A partition drops packets silently, as between two machines: no reset,
 * no refusal, the peers' TCP just stops hearing each other. Both directions
 * are cut on the host's own veth pair (packets it sends to the peer, packets
 * the bridge sends it from the peer), by a u32 filter steering them into an
 * HTB class whose queue holds nothing (`pfifo limit 0`). That needs only
 * `tc` with HTB, which this machine's kernel has (no iptables, no netem).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Host {
  readonly name: string;
  /** The namespace, for `ip netns exec`. */
  readonly ns: string;
  readonly address: string;
}

const IP_PATHS = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];

/** The `ip` binary, or null. */
export function ipBinary(): string | null {
  return IP_PATHS.find((p) => existsSync(p)) ?? null;
}

/** Why this process cannot build the run's network, or null when it can. */
export function networkProblem(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (ipBinary() === null) return 'the ip command (iproute2) is not installed';
  if (!['/usr/sbin/tc', '/sbin/tc'].some((p) => existsSync(p))) return 'the tc command (iproute2) is not installed';
  return null;
}

export class Network {
  /** This side's address on the bridge: the users' source address. */
  readonly local: string;
  /** The store's address (Redis and the Sentinels listen there). */
  readonly store: string;
  readonly #tag: string;
  readonly #subnet: string;
  readonly #hosts = new Map<string, Host & { inside: string; outside: string }>();
  readonly #cut = new Map<string, Set<string>>();
  #destroyed = false;

  private constructor(tag: string, subnet: string) {
    this.#tag = tag;
    this.#subnet = subnet;
    this.local = `${subnet}.1`;
    this.store = `${subnet}.2`;
  }

  /** The bridge with this side's two addresses. `tag`: up to 5 characters, unique on the machine. */
  static create(tag: string): Network {
    const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
    const network = new Network(tag, subnet);
    const bridge = network.#bridge;
    try {
      ip('link', 'add', bridge, 'type', 'bridge');
      ip('addr', 'add', `${network.local}/24`, 'dev', bridge);
      ip('addr', 'add', `${network.store}/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
    } catch (error) {
      network.destroy();
      throw error;
    }
    return network;
  }

  get #bridge(): string {
    return `rr${this.#tag}br`;
  }

  /** A host of its own for `name`, with the next address. */
  addHost(name: string): Host {
    const index = this.#hosts.size;
    const ns = `rr-${this.#tag}-${name}`;
    const outside = `rr${this.#tag}h${index}`;
    const inside = `rr${this.#tag}n${index}`;
    const address = `${this.#subnet}.${10 + index}`;
    ip('netns', 'add', ns);
    const host = { name, ns, address, inside, outside };
    this.#hosts.set(name, host);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('link', 'set', outside, 'master', this.#bridge);
    ip('link', 'set', outside, 'up');
    inNs(ns, 'ip', 'addr', 'add', `${address}/24`, 'dev', inside);
    inNs(ns, 'ip', 'link', 'set', inside, 'up');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    // Class 1:1 passes everything; class 1:2 drops everything (a queue of 0 packets). Filters pick 1:2.
    for (const [dev, wrap] of [[inside, (...a: string[]) => inNs(ns, 'tc', ...a)], [outside, (...a: string[]) => run('tc', ...a)]] as const) {
      wrap('qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1');
      wrap('class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit', 'quantum', '60000');
      wrap('class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '10gbit', 'quantum', '60000');
      wrap('qdisc', 'add', 'dev', dev, 'parent', '1:2', 'handle', '20:', 'pfifo', 'limit', '0');
    }
    this.#cut.set(name, new Set());
    return host;
  }

  host(name: string): Host {
    const host = this.#hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** Drops every packet between host `name` and `address`, both ways, until {@link heal}. */
  cut(name: string, address: string): void {
    const host = this.#hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    const cut = this.#cut.get(name)!;
    if (cut.has(address)) return;
    cut.add(address);
    const prio = String(cut.size);
    inNs(host.ns, 'tc', 'filter', 'add', 'dev', host.inside, 'parent', '1:', 'protocol', 'ip', 'prio', prio, 'u32', 'match', 'ip', 'dst', `${address}/32`, 'flowid', '1:2');
    run('tc', 'filter', 'add', 'dev', host.outside, 'parent', '1:', 'protocol', 'ip', 'prio', prio, 'u32', 'match', 'ip', 'src', `${address}/32`, 'flowid', '1:2');
  }

  /** Removes every cut of host `name`. */
  heal(name: string): void {
    const host = this.#hosts.get(name);
    const cut = this.#cut.get(name);
    if (host === undefined || cut === undefined || cut.size === 0) return;
    inNs(host.ns, 'tc', 'filter', 'del', 'dev', host.inside, 'parent', '1:');
    run('tc', 'filter', 'del', 'dev', host.outside, 'parent', '1:');
    cut.clear();
  }

  /** Deletes the namespaces, their links and the bridge (best effort: each step is tried). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const host of this.#hosts.values()) {
      tryRun(() => ip('netns', 'del', host.ns));
      tryRun(() => ip('link', 'del', host.outside));
    }
    tryRun(() => ip('link', 'del', this.#bridge));
  }
}

function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

function ip(...args: string[]): void {
  run(ipBinary() ?? 'ip', ...args);
}

function inNs(ns: string, ...command: string[]): void {
  ip('netns', 'exec', ns, ...command);
}

function tryRun(step: () => void): void {
  try {
    step();
  } catch {
    // already gone
  }
}
