export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
  readonly id?: string;
  /** ms since the request was sent. */
  readonly at: number;
}

export interface SseRead {
  readonly status: number;
  readonly headers: Headers;
  readonly events: SseMessage[];
  readonly keepAlives: number;
  /** Whether the body ended normally (false when cut or aborted). */
  readonly ended: boolean;
}

/**
 * Reads a Server-Sent Events response as a browser's EventSource would (it sends
 * `Accept: text/event-stream` unless `headers` name another), with arrival times.
 * `stopWhen` lets a test hang up early (the caller disconnecting).
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  stopWhen?: (event: SseMessage) => boolean,
): Promise<SseRead> {
  const started = performance.now();
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const events: SseMessage[] = [];
  let keepAlives = 0;
  let ended = false;
  if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, headers: response.headers, events, keepAlives, ended: true };
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        if (block.startsWith(':')) {
          keepAlives++;
          continue;
        }
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        const event: SseMessage = {
          event: fields.get('event') ?? 'message',
          data: JSON.parse(fields.get('data') ?? 'null'),
          id: fields.get('id'),
          at: performance.now() - started,
        };
        events.push(event);
        if (stopWhen?.(event)) {
          abort.abort();
          return {
            status: response.status,
            headers: response.headers,
            events,
            keepAlives,
            ended: false,
          };
        }
      }
    }
    ended = true;
  } catch {
    ended = false;
  }
  return { status: response.status, headers: response.headers, events, keepAlives, ended };
}

export function outputsOf(read: SseRead): unknown[] {
  return read.events.filter((event) => event.event === 'output').map((event) => event.data);
}
