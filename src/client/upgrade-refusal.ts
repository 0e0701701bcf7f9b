/**
 * Seeing why a server refused the WebSocket upgrade. Browsers hide the HTTP
 * answer to an upgrade (a refused socket just closes with 1006), so this
 * works only where the WebSocket is an event emitter that reports it: `ws`'s
 * 'unexpected-response' (req, res) for any non-101 answer.
 */

/** The part of `ws`'s `http.IncomingMessage` that is read. */
export interface UpgradeResponseLike {
  readonly statusCode?: number | undefined;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

type Listener = (req: unknown, res: UpgradeResponseLike) => void;

interface EmitterLike {
  once?: (event: string, listener: Listener) => unknown;
  on?: (event: string, listener: Listener) => unknown;
}

/**
 * Calls `onRefused(status, retryAfterHeader)` when `ws` reports a non-101
 * answer to its upgrade, and returns whether it could listen at all.
 *
 * With a listener, `ws` no longer aborts the handshake itself (it would
 * otherwise emit 'error' "Unexpected server response" and close). So the
 * socket is closed here: `close()` while CONNECTING aborts the request and
 * emits exactly one 'error' (the caller's `onerror` takes it) and then one
 * 'close' (1006), as a refusal without a listener would; `terminate()` does
 * the same. `req.destroy()` would not do: `ws` hears no error from a request
 * destroyed after its response, so the socket would stay CONNECTING, with no
 * close, until the client's connect timeout (checked against ws 8.23).
 */
export function listenForRefusal(ws: object, onRefused: (status: number, retryAfter: string | readonly string[] | undefined) => void): boolean {
  const emitter = ws as EmitterLike;
  const listen = typeof emitter.once === 'function' ? emitter.once : typeof emitter.on === 'function' ? emitter.on : null;
  if (listen === null) return false;
  listen.call(ws, 'unexpected-response', (_req, res) => {
    try {
      onRefused(res.statusCode ?? 0, res.headers['retry-after']);
    } finally {
      try {
        (ws as { close(): void }).close();
      } catch {
        // already closing
      }
    }
  });
  return true;
}
