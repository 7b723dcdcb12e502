import { GatewayError } from './gateway-error.ts';

export type StreamRepresentation = 'event-stream' | 'json';

const OFFERED: ReadonlyArray<{ type: string; representation: StreamRepresentation }> = [
  { type: 'text/event-stream', representation: 'event-stream' },
  { type: 'application/json', representation: 'json' },
];

/**
 * Content negotiation for the stream route: Server-Sent Events unless the caller prefers
 * JSON (RunPod's SDKs send `Accept: application/json` and get RunPod's own poll shape).
 * No Accept header, or a tie, means event-stream.
 */
export function negotiateStream(accept: string | undefined): StreamRepresentation {
  if (accept === undefined || accept.trim() === '') return 'event-stream';
  let best:
    | { representation: StreamRepresentation; quality: number; specificity: number }
    | undefined;
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...parameters] = range
      .split(';')
      .map((part) => part.trim().toLowerCase());
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const quality = qParameter ? Number(qParameter.slice(2)) : 1;
    if (!(quality > 0)) continue;
    for (const [index, offer] of OFFERED.entries()) {
      const specificity = matchSpecificity(mediaRange, offer.type);
      if (specificity < 0) continue;
      const better =
        !best ||
        quality > best.quality ||
        (quality === best.quality && specificity > best.specificity) ||
        (quality === best.quality && specificity === best.specificity && index === 0);
      if (better) best = { representation: offer.representation, quality, specificity };
    }
  }
  if (!best) {
    throw new GatewayError(
      'not_acceptable',
      'This route answers text/event-stream or application/json',
    );
  }
  return best.representation;
}

/** 2 for an exact match, 1 for `type/*`, 0 for `*\/*`, -1 for no match. */
function matchSpecificity(range: string, type: string): number {
  if (range === type) return 2;
  if (range === '*/*') return 0;
  if (range.endsWith('/*') && type.startsWith(range.slice(0, -1))) return 1;
  return -1;
}
