/**
 * Server-Sent Events framing. Data is always one line of JSON (JSON.stringify never emits a
 * raw newline), so an event never needs multi-line `data:` splitting.
 */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return sseEventOfJson(event, JSON.stringify(data), id);
}

/** An event whose data is already one line of JSON text (a journaled chunk). */
export function sseEventOfJson(event: string, json: string, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${json}\n\n`;
}

/** A comment line: ignored by EventSource, but keeps proxies and clients from idling out. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const;
