import { haproxyCommand, haproxyEachLine } from './runtime.js';

/**
 * HAProxy's `major.minor` from `show info` (`Version: 2.6.12-1+deb12u4`),
 * or null when the answer has no version line.
 */
export async function haproxyVersion(socket: string, timeoutMs: number): Promise<readonly [number, number] | null> {
  const info = await haproxyCommand(socket, 'show info', timeoutMs);
  const match = /^Version:\s*(\d+)\.(\d+)/m.exec(info);
  return match === null ? null : [Number(match[1]), Number(match[2])];
}

/**
 * Whether `del server` can crash this HAProxy while streams still point at
 * the server: before 2.9 it checks only the server's connections and queue,
 * not the streams waiting to retry a connection on it (haproxy/haproxy#2323,
 * "do not delete a server that has streams", fixed in 2.9). An unknown
 * version counts as affected.
 */
export function delServerNeedsDrain(version: readonly [number, number] | null): boolean {
  return version === null || version[0] < 2 || (version[0] === 2 && version[1] < 9);
}

/**
 * Streams of `backend` whose target is one of `servers`, by server name, from
 * `show sess` (one line per stream, `... be=<backend> srv=<server> ...`). A
 * stream waiting out a retry on a dead server is listed there while `show
 * stat` already counts it in no server's `scur` or `qcur` (seen on 2.6.12).
 */
export async function streamsOn(socket: string, backend: string, servers: ReadonlySet<string>, timeoutMs: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>([...servers].map((s) => [s, 0]));
  const tag = ` be=${backend} srv=`;
  await haproxyEachLine(
    socket,
    'show sess',
    (line) => {
      const at = line.indexOf(tag);
      if (at < 0) return;
      const end = line.indexOf(' ', at + tag.length);
      const server = line.slice(at + tag.length, end < 0 ? undefined : end);
      const n = counts.get(server);
      if (n !== undefined) counts.set(server, n + 1);
    },
    timeoutMs,
  );
  return counts;
}
