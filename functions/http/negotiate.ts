import { GatewayError } from './gateway-error.ts';

export type StreamRepresentation = 'event-stream' | 'json';

/** In order of preference when the caller rates them equally. */
const OFFERED: ReadonlyArray<{ type: string; representation: StreamRepresentation }> = [
  { type: 'text/event-stream', representation: 'event-stream' },
  { type: 'application/json', representation: 'json' },
];

interface MediaRange {
  readonly range: string;
  readonly quality: number;
}

/**
 * Content negotiation for the stream route: Server-Sent Events unless the caller prefers
 * JSON (RunPod's SDKs send `Accept: application/json` and get RunPod's own poll shape).
 * As RFC 9110 §12.5.1 says, a type's quality comes from the most specific range that matches
 * it, so `text/event-stream;q=0, *\/*` refuses SSE. No Accept header, or a tie, means SSE.
 */
export function negotiateStream(accept: string | undefined): StreamRepresentation {
  if (accept === undefined || accept.trim() === '') return 'event-stream';
  const ranges = accept.split(',').map(parseRange);
  let best:
    | { representation: StreamRepresentation; quality: number; specificity: number }
    | undefined;
  for (const offer of OFFERED) {
    const { quality, specificity } = matchOf(offer.type, ranges);
    // Equal qualities: the type the caller named outright beats one reached by a wildcard.
    const better =
      !best ||
      quality > best.quality ||
      (quality === best.quality && specificity > best.specificity);
    if (quality > 0 && better)
      best = { representation: offer.representation, quality, specificity };
  }
  if (!best) {
    throw new GatewayError(
      'not_acceptable',
      'This route answers text/event-stream or application/json',
    );
  }
  return best.representation;
}

function parseRange(text: string): MediaRange {
  const [range = '', ...parameters] = text.split(';').map((part) => part.trim().toLowerCase());
  const q = parameters.find((parameter) => parameter.startsWith('q='));
  const quality = q === undefined ? 1 : Number(q.slice(2));
  return { range, quality: Number.isFinite(quality) ? Math.min(Math.max(quality, 0), 1) : 0 };
}

/** The most specific matching range's quality (0 when none matches) and how specific it is. */
function matchOf(
  type: string,
  ranges: readonly MediaRange[],
): { quality: number; specificity: number } {
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
  return { quality, specificity };
}
