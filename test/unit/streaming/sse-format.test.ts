import { describe, expect, it } from 'vitest';
import { SSE_HEADERS, SSE_KEEP_ALIVE, sseEvent } from '../../../functions/streaming/sse-format.ts';

describe('sseEvent', () => {
  it('writes an event with an id, a name and one line of JSON data, ending with a blank line', () => {
    expect(sseEvent('output', { token: 'hi' }, 3)).toBe(
      'id: 3\nevent: output\ndata: {"token":"hi"}\n\n',
    );
  });

  it('writes no id line when no id is given', () => {
    expect(sseEvent('status', { id: 'job-1', status: 'IN_PROGRESS' })).toBe(
      'event: status\ndata: {"id":"job-1","status":"IN_PROGRESS"}\n\n',
    );
  });

  it('keeps data on a single line when a value holds newlines', () => {
    // Act
    const frame = sseEvent('output', 'line one\nline two\r\n', 1);

    // Assess
    expect(frame.split('\n')).toEqual([
      'id: 1',
      'event: output',
      'data: "line one\\nline two\\r\\n"',
      '',
      '',
    ]);
  });

  it('writes an id of 0', () => {
    expect(sseEvent('output', null, 0)).toBe('id: 0\nevent: output\ndata: null\n\n');
  });
});

describe('SSE constants', () => {
  it('writes keep-alives as a comment line that EventSource ignores', () => {
    expect(SSE_KEEP_ALIVE).toBe(': keep-alive\n\n');
  });

  it('declares an uncached, unbuffered UTF-8 event stream', () => {
    expect(SSE_HEADERS).toEqual({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    });
  });
});
