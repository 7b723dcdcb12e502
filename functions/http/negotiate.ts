export type StreamRepresentation = 'event-stream' | 'json';

const EVENT_STREAM = 'text/event-stream';
const JSON_TYPE = 'application/json';

interface MediaRange {
  readonly range: string;
  readonly quality: number;
}

/**
 * Content negotiation for the stream route. Server-Sent Events only for a caller that names
 * `text/event-stream` outright with q > 0 and rates it no lower than JSON; everything else —
 * `*\/*`, `text/*`, `application/json`, no Accept at all, types the route does not offer — gets
 * RunPod's own JSON poll. RunPod's SDKs send `Accept: *\/*` (Python's requests, the JS SDK's
 * fetch) or none (Go) and parse the whole body as RunPod's JSON: answering them with SSE would
 * drain the job's output into a body they cannot read. RunPod itself ignores Accept, so no
 * Accept value is refused.
 *
 * JSON's quality comes from the most specific range that matches it (RFC 9110 §12.5.1), so
 * `text/event-stream;q=0.5, *\/*` prefers JSON and `text/event-stream, *\/*` prefers SSE.
 */
export function negotiateStream(accept: string | undefined): StreamRepresentation {
  if (accept === undefined) return 'json';
  const ranges = accept.split(',').map(parseRange);
  let eventStream = 0;
  for (const { range, quality } of ranges) {
    if (range === EVENT_STREAM) eventStream = Math.max(eventStream, quality);
  }
  if (eventStream <= 0) return 'json';
  return eventStream >= qualityOf(JSON_TYPE, ranges) ? 'event-stream' : 'json';
}

function parseRange(text: string): MediaRange {
  const [range = '', ...parameters] = text.split(';').map((part) => part.trim().toLowerCase());
  const q = parameters.find((parameter) => parameter.startsWith('q='));
  const quality = q === undefined ? 1 : Number(q.slice(2));
  return { range, quality: Number.isFinite(quality) ? Math.min(Math.max(quality, 0), 1) : 0 };
}

/** The quality of the most specific range matching `type` (0 when none matches). */
function qualityOf(type: string, ranges: readonly MediaRange[]): number {
  let specificity = -1;
  let quality = 0;
  for (const { range, quality: rangeQuality } of ranges) {
    const rank =
      range === type ? 2 : range === `${type.split('/')[0]}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (rank > specificity) {
      specificity = rank;
      quality = rangeQuality;
    }
  }
  return quality;
}
