import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/http/gateway-error.ts';
import { negotiateStream } from '../../../functions/http/negotiate.ts';
import { caught } from '../../helpers/unit/caught.ts';

describe('negotiateStream', () => {
  it.each([
    ['no Accept header', undefined],
    ['an empty Accept header', ''],
    ['a blank Accept header', '   '],
    ['*/*', '*/*'],
    ['text/event-stream', 'text/event-stream'],
    ['text/*', 'text/*'],
    ['an uppercase media type', 'TEXT/EVENT-STREAM'],
    ['a tie between both types', 'application/json, text/event-stream'],
    ['a tie at lower quality', 'application/json;q=0.5, text/event-stream;q=0.5'],
    ['a preferred type the route does not offer, then */*', 'text/html, */*;q=0.1'],
  ])('answers with event-stream for %s', (_case, accept) => {
    expect(negotiateStream(accept)).toBe('event-stream');
  });

  it.each([
    ['application/json', 'application/json'],
    ['application/json with parameters', 'application/json; charset=utf-8'],
    ['application/*', 'application/*'],
    ['event-stream at lower quality', 'text/event-stream;q=0.5, application/json'],
    ['json with higher quality than */*', '*/*;q=0.8, application/json;q=0.9'],
    ['json exactly and */* at the same quality', 'application/json, */*'],
    ['event-stream refused with q=0', 'text/event-stream;q=0, application/json'],
    ['spaces around the parameters', 'text/event-stream ; q=0.2 , application/json ; q=0.3'],
    ['event-stream refused outright, then */*', 'text/event-stream;q=0, */*'],
    ['event-stream rated below */*', 'text/event-stream;q=0.1, */*;q=0.9'],
  ])('answers with json for %s', (_case, accept) => {
    expect(negotiateStream(accept)).toBe('json');
  });

  it.each([
    ['text/html only', 'text/html'],
    ['image/* and text/plain', 'image/*, text/plain'],
    ['event-stream with q=0', 'text/event-stream;q=0'],
    ['an unparsable quality', 'application/json;q=high'],
  ])('answers 406 not_acceptable for %s', (_case, accept) => {
    // Act
    const error = caught(() => negotiateStream(accept), GatewayError);

    // Assess
    expect(error.code).toBe('not_acceptable');
    expect(error.status).toBe(406);
    expect(error.detail).toBe('This route answers text/event-stream or application/json');
  });
});
