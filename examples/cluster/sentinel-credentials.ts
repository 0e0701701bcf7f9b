/**
 * Credentials for a Sentinel-managed Redis: the Sentinels' and the Redis
 * servers', each an ACL user and its password (Redis 6+; the user is
 * `default` when only a password is given), under ioredis's option names.
 * Processes get them from the environment, never the command line (which
 * every local user can read in `ps`).
 */

/** ioredis's `sentinelUsername`, `sentinelPassword`, `username` and `password`. */
export interface SentinelCredentials {
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** The Redis servers' ACL user. */
  readonly username?: string;
  /** The Redis servers' password. */
  readonly password?: string;
}

const ENV = {
  sentinelUsername: 'RINGROUTE_SENTINEL_USERNAME',
  sentinelPassword: 'RINGROUTE_SENTINEL_PASSWORD',
  username: 'RINGROUTE_REDIS_USERNAME',
  password: 'RINGROUTE_REDIS_PASSWORD',
} as const satisfies Record<keyof SentinelCredentials, string>;

/** The credentials set in `env` (empty values count as unset). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): SentinelCredentials {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** The environment that carries `credentials` to a child process. */
export function credentialsEnv(credentials: SentinelCredentials): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = credentials[key as keyof SentinelCredentials];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Only the set (non-empty) fields of `fields`, for spreading into ioredis options. */
export function definedCredentials<K extends string>(fields: { readonly [key in K]?: string | undefined }): { [key in K]?: string } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => typeof v === 'string' && v !== '')) as { [key in K]?: string };
}

/** How the Sentinels themselves are authenticated: ioredis options of a direct connection to one. */
export function sentinelAuth(credentials: SentinelCredentials): { username?: string; password?: string } {
  return definedCredentials({ username: credentials.sentinelUsername, password: credentials.sentinelPassword });
}

/** How the Redis servers are authenticated: ioredis options of a direct connection to one. */
export function redisAuth(credentials: SentinelCredentials): { username?: string; password?: string } {
  return definedCredentials({ username: credentials.username, password: credentials.password });
}
