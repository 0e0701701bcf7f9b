/**
 * The NATS engine (engine.ts): NatsRingStore, NatsMembership and
 * NatsTransport (`ringroute/nats`) on one NATS connection per process, on a
 * nats-server with JetStream. `--nats URL` names the server (`nats://host:4222`),
 * or several, separated by commas (servers of one NATS cluster: the client
 * picks one and fails over to the others); credentials may ride in the URL
 * (`nats://user:password@host:4222`, or a token: `nats://token@host:4222`).
 * A run's buckets are `<prefix>-ring` and `<prefix>-members`, deleted at the
 * end; its messages go on the subjects `<prefix>.sessions.*`.
 */
import { jetstreamManager, JetStreamApiError } from '@nats-io/jetstream';
import { type ConnectionOptions, type NatsConnection, connect } from '@nats-io/transport-node';
import { NatsMembership, NatsRingStore, NatsTransport, natsNames } from 'ringroute/nats';
import type { Engine, EngineConnection } from './engine.js';

/** JetStream's "stream not found" error code. */
const STREAM_NOT_FOUND = 10059;

/** Why `value` cannot be `--nats`, or null when it can: one `nats://` URL, or several separated by commas. */
export function natsUrlProblem(value: string): string | null {
  const options = natsConnectOptions(value);
  return typeof options === 'string' ? options : null;
}

/** `--nats` as the client's options (servers and credentials), or a one-line problem. */
export function natsConnectOptions(value: string): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token'> | string {
  const entries = value.split(',').map((entry) => entry.trim());
  const empty = entries.findIndex((entry) => entry === '');
  if (empty >= 0) return entries.length === 1 ? '--nats needs a nats:// URL' : `--nats has an empty entry (number ${empty + 1}) in its list of URLs, got ${JSON.stringify(value)}`;
  const urls: URL[] = [];
  for (const entry of entries) {
    const url = /^nats:\/\/\S+$/.test(entry) ? parse(entry) : null;
    if (url === null || url.hostname === '') {
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry)?.[1];
      const hint = scheme !== undefined && scheme !== 'nats' ? ` (${scheme}:// is not one: the example speaks nats:// only)` : '';
      return `--nats must be a nats:// URL, or several separated by commas, got ${JSON.stringify(redactNatsUrl(entry))}${hint}`;
    }
    if (url.pathname !== '' && url.pathname !== '/') return `--nats: ${JSON.stringify(redactNatsUrl(entry))} has a path: a NATS URL is nats://[user:password@]host[:port]`;
    if (url.port !== '' && Number(url.port) === 0) return `--nats: ${JSON.stringify(redactNatsUrl(entry))} has port 0`;
    urls.push(url);
  }
  const credentials = new Set(urls.filter((url) => url.username !== '' || url.password !== '').map((url) => `${url.username}:${url.password}`));
  if (credentials.size > 1) return '--nats URLs carry different credentials: the servers of one NATS cluster share them (give them in every URL, or in one)';
  const first = urls.find((url) => url.username !== '' || url.password !== '');
  const user = first === undefined ? '' : decodeURIComponent(first.username);
  const pass = first === undefined ? '' : decodeURIComponent(first.password);
  return {
    // The client takes host:port; credentials in a server URL would be ignored, so they go in the options.
    servers: urls.map((url) => `${url.hostname}:${url.port === '' ? 4222 : url.port}`),
    ...(pass !== '' ? { user, pass } : user !== '' ? { token: user } : {}),
  };
}

/** The URL (or each of a comma-separated list) with its password or token hidden, for printing. */
export function redactNatsUrl(value: string): string {
  return value
    .split(',')
    .map((entry) => entry.trim().replace(/^(nats:\/\/)([^@/]*)@/, (_, scheme: string, userinfo: string) => `${scheme}${userinfo.includes(':') ? `${userinfo.split(':')[0]}:***` : '***'}@`))
    .join(',');
}

/** The engine of `--nats` (validated by {@link natsUrlProblem}). */
export function natsEngine(value: string): Engine {
  const options = natsConnectOptions(value);
  if (typeof options === 'string') throw new Error(options);
  const label = `NATS ${redactNatsUrl(value)}`;
  return {
    kind: 'nats',
    label,
    env: { RINGROUTE_NATS_URL: value },
    async connect({ name, prefix, waitMs, log }): Promise<EngineConnection> {
      const nc = await connectWithin(options, name, waitMs, label);
      try {
        await jetstreamManager(nc, { timeout: 5000 }); // asks the server for its JetStream account info
      } catch (error) {
        await nc.close();
        throw new Error(`${label} answers, but not its JetStream API (${(error as Error).message}): the example needs nats-server with JetStream (-js)`);
      }
      if (log !== undefined) void reportStatus(nc, name, log);
      return {
        store: () => new NatsRingStore({ nats: nc, prefix }),
        membership: (o) => new NatsMembership({ nats: nc, prefix, ...o }),
        transport: () => new NatsTransport({ nats: nc, prefix }),
        close: () => nc.close(),
      };
    },
    async clean(prefix) {
      const nc = await connectWithin(options, 'ringroute-example-cleanup', 5000, label);
      try {
        const jsm = await jetstreamManager(nc, { timeout: 5000 });
        const names = natsNames(prefix);
        let deleted = 0;
        for (const bucket of [names.ringBucket, names.membersBucket]) {
          try {
            if (await jsm.streams.delete(`KV_${bucket}`)) deleted++;
          } catch (error) {
            if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
          }
        }
        return deleted;
      } finally {
        await nc.close();
      }
    },
  };
}

/**
 * Connects, trying again every 200 ms until `waitMs` has passed; then
 * rejects with the last failure. The connection reconnects by itself for
 * ever afterwards (`maxReconnectAttempts: -1`), as the adapters expect.
 */
async function connectWithin(options: ConnectionOptions, name: string, waitMs: number, label: string): Promise<NatsConnection> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = deadline - Date.now();
    try {
      return await connect({ ...options, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: Math.max(100, Math.min(left, 5000)) });
    } catch (error) {
      if (Date.now() + 200 >= deadline) throw new Error(`${label} did not answer within ${(waitMs / 1000).toFixed(0)} s (${(error as Error).message})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Logs the connection's disconnects, reconnects and errors (slow consumers included) until it closes. */
async function reportStatus(nc: NatsConnection, name: string, log: (line: string) => void): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'ping' || status.type === 'reconnecting' || status.type === 'staleConnection') continue;
    log(`[${name}] nats: ${status.type}${'error' in status && status.error !== undefined ? ` ${String(status.error)}` : ''}${'server' in status ? ` ${String(status.server)}` : ''}`);
  }
}

function parse(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}
