/**
 * What the nats transport loads: `connect` from @nats-io/transport-node and
 * the library's own `NatsTransport` (`ringroute/nats`). Both are imported
 * only when `--transport nats` is asked for, never statically, so the
 * memory and redis transports run without the NATS packages, which are
 * optional peer dependencies. `ringroute/nats` also imports @nats-io/jetstream
 * and @nats-io/kv (for its ring store and membership; `NatsTransport` itself
 * does not use them, but lives in the same entry), so all three are needed.
 */
import type { NatsConnection, NatsTransport, NatsTransportOptions } from '../adapters/nats/index.js';
import { SetupError } from './setup-error.js';

/** The packages `--transport nats` needs, as `npm install` takes them. */
export const NATS_PACKAGES = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv'] as const;

/** Longest wait for a NATS server's handshake, in ms. */
export const NATS_CONNECT_TIMEOUT_MS = 5000;
/** Longest wait for a connection to close (it drains what is queued first). */
const CLOSE_TIMEOUT_MS = 2000;

/** A connection from `connect()`: what the adapter needs, and `close`. */
export interface BenchNats extends NatsConnection {
  close(): Promise<void>;
  /** Resolves when the connection is closed, with the error that closed it if any. */
  closed(): Promise<void | Error>;
}

/** The two things loaded. */
export interface NatsModules {
  readonly connect: (options: { servers: string; timeout: number; reconnect: boolean; name: string }) => Promise<BenchNats>;
  readonly NatsTransport: new (options: NatsTransportOptions) => NatsTransport;
}

let loaded: Promise<NatsModules> | undefined;

/**
 * Loads @nats-io/transport-node and the library's NATS adapters.
 * @throws SetupError (exit code 2) when a NATS package is not installed.
 */
export function loadNats(): Promise<NatsModules> {
  loaded ??= (async () => {
    // Specifiers in variables: bundlers leave them alone and they stay optional. From source (tsx), the
    // adapter's source; bundled into dist/cli.js, the package's own `ringroute/nats` build beside it.
    const client = NATS_PACKAGES[0];
    const adapter = import.meta.url.endsWith('.ts') ? '../adapters/nats/index.js' : './nats.js';
    try {
      const [{ connect }, { NatsTransport }] = (await Promise.all([import(client), import(adapter)])) as [Pick<NatsModules, 'connect'>, Pick<NatsModules, 'NatsTransport'>];
      if (typeof connect !== 'function') throw new SetupError(`the installed ${client} package has no connect(); install version 3`);
      return { connect, NatsTransport };
    } catch (error) {
      throw natsLoadError(error);
    }
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/** The error to show for a failed import of the NATS packages or adapter: which package to install, when one is missing. */
export function natsLoadError(error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return error instanceof Error ? error : new Error(message);
  const missing = /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/'.][^/']*)'/.exec(message)?.[1];
  if (missing !== undefined && missing.startsWith('@nats-io/')) {
    return new SetupError(`--transport nats needs the ${missing} package, which is not installed: run "npm install ${NATS_PACKAGES.join(' ')}"`);
  }
  return new Error(`--transport nats could not load the ringroute/nats adapter beside this CLI: ${message}`);
}

/**
 * Connects once, without reconnecting: a benchmark should fail fast and say
 * why rather than wait for a server that is not there or stopped answering.
 */
export async function connectNats(url: string, timeoutMs = NATS_CONNECT_TIMEOUT_MS): Promise<BenchNats> {
  const { connect } = await loadNats();
  const attempt = connect({ servers: url, timeout: timeoutMs, reconnect: false, name: 'ringroute bench' });
  let timer: NodeJS.Timeout | undefined;
  // The client's own timeout covers the handshake; this one is the backstop for anything else.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs + 1000} ms`)), timeoutMs + 1000);
  });
  try {
    return await Promise.race([attempt, deadline]);
  } catch (error) {
    void attempt.then((nc) => nc.close(), () => {});
    throw new SetupError(`cannot connect to NATS at ${url}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes `nc`, giving up waiting after {@link CLOSE_TIMEOUT_MS} (the process ends soon anyway). */
export async function closeNats(nc: BenchNats): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    await Promise.race([nc.close().catch(() => {}), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
