import { describe, expect, it } from 'vitest';
import { negotiateStream } from '../../../functions/http/negotiate.ts';

describe('negotiateStream', () => {
  it.each([
    ['text/event-stream', 'text/event-stream'],
    ['an uppercase media type', 'TEXT/EVENT-STREAM'],
    ['event-stream with parameters', 'text/event-stream; charset=utf-8'],
    ['a tie between both types', 'application/json, text/event-stream'],
    ['a tie at lower quality', 'application/json;q=0.5, text/event-stream;q=0.5'],
    ['event-stream beside */*', 'text/event-stream, */*'],
    ['event-stream at low quality, JSON not accepted', 'text/event-stream;q=0.1, text/html'],
    ['event-stream rated above JSON', 'text/event-stream;q=0.9, application/json;q=0.5'],
  ])('answers with event-stream for %s', (_case, accept) => {
    expect(negotiateStream(accept)).toBe('event-stream');
  });

  it.each([
    ['no Accept header (Go SDK)', undefined],
    ['an empty Accept header', ''],
    ['a blank Accept header', '   '],
    ['*/* (JS SDK, Python requests, curl)', '*/*'],
    ['text/* (not named outright)', 'text/*'],
    ['application/json', 'application/json'],
    ['application/json with parameters', 'application/json; charset=utf-8'],
    ['application/*', 'application/*'],
    ['a type the route does not offer', 'text/html'],
    ['types the route does not offer', 'image/*, text/plain'],
    ['event-stream at lower quality', 'text/event-stream;q=0.5, application/json'],
    ['event-stream refused with q=0', 'text/event-stream;q=0'],
    ['event-stream refused with q=0, then */*', 'text/event-stream;q=0, */*'],
    ['event-stream rated below */*', 'text/event-stream;q=0.1, */*;q=0.9'],
    ['an unparsable quality on event-stream', 'text/event-stream;q=high'],
    ['spaces around the parameters', 'text/event-stream ; q=0.2 , application/json ; q=0.3'],
  ])('answers with json for %s', (_case, accept) => {
    expect(negotiateStream(accept)).toBe('json');
  });
});
