/**
 * A Sentinel client that follows a fail-over as soon as a Sentinel announces
 * it. ioredis asks the Sentinels for the primary again only when its
 * connection breaks. A fail-over that kills the primary breaks it at once;
 * one ordered with `SENTINEL FAILOVER` (or one that promoted a replica while
 * the old primary was only cut off) leaves the old primary up and taking
 * writes until Sentinel demotes it, which kills its clients' connections
 * 8 s or more after the promotion, and every write of those seconds is lost
 * when the old primary resyncs from the new one.
 *
 * ioredis's own `failoverDetector` option reconnects on `+switch-master`, but
 * (ioredis 6.0.0) a switch announced while the client is reconnecting (its
 * primary was killed, so it always is) makes that reconnection reject, and
 * the client ends for good: every command fails with "Connection is closed."
 * ever after. The chaos run's own fail-overs ended every part that way. So
 * this listens to `+switch-master` itself and reconnects the client only
 * while it is connected: a client that is reconnecting asks the Sentinels
 * anyway.
 */
import { Redis } from 'ioredis';
import { sentinelAuth } from './sentinel-credentials.js';

export interface SwitchOptions {
  /** The Sentinels to listen to (as the client reaches them). */
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** The primary's name: a Sentinel may watch several. */
  readonly name: string;
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** Called for each switch that made the client reconnect. */
  readonly onSwitch?: (message: string) => void;
}

/** Reconnects `redis` whenever a Sentinel announces a new primary for `name`; returns a function that stops listening. */
export function followSentinelSwitches(redis: Redis, options: SwitchOptions): () => void {
  const listeners = options.sentinels.map((s) => {
    const sub = new Redis({
      host: s.host, port: s.port, ...sentinelAuth(options),
      // A Sentinel that is down or cut off is tried again every half second, quietly; it announces nothing meanwhile.
      retryStrategy: () => 500, maxRetriesPerRequest: null, enableReadyCheck: false,
    });
    sub.on('error', () => undefined);
    sub.subscribe('+switch-master').catch(() => undefined);
    // "<name> <old ip> <old port> <new ip> <new port>", once from each Sentinel as it takes the new configuration.
    sub.on('message', (_channel: string, message: string) => {
      if (message.split(' ')[0] !== options.name || redis.status !== 'ready') return;
      options.onSwitch?.(message);
      redis.disconnect(true);
    });
    return sub;
  });
  return () => {
    for (const sub of listeners) sub.disconnect();
  };
}
