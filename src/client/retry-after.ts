/**
 * A `Retry-After` header value in milliseconds, or null when absent or
 * unreadable. Both forms of RFC 9110 §10.2.3 are read: delta-seconds
 * (`120`) and an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, measured from
 * `nowMs`; a date in the past gives 0). The result is capped at `capMs`, so
 * a wrong or hostile header cannot park a client for hours.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number, capMs: number): number | null {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (text === undefined || text === '') return null;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // An HTTP-date names a weekday; this keeps Date.parse's leniency ("1.5" is a date to V8) out.
    if (!/^[A-Za-z]{3}/.test(text)) return null;
    // asctime dates carry no zone and mean GMT, which Date.parse would read as local time.
    const at = Date.parse(/GMT|UTC|[+-]\d{4}$/i.test(text) ? text : `${text} GMT`);
    if (Number.isNaN(at)) return null;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, capMs);
}
