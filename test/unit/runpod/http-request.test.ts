import { describe, expect, it } from 'vitest';
import { httpOriginOf } from '../../../functions/runpod/http-request.ts';

describe('httpOriginOf', () => {
  it('takes scheme and host of an https base URL, with the default port left to the client', () => {
    expect(httpOriginOf(new URL('https://api.runpod.ai/v2'))).toEqual({
      secure: true,
      hostname: 'api.runpod.ai',
      port: undefined,
    });
  });

  it('keeps an explicit port of a plain-http base URL', () => {
    expect(httpOriginOf(new URL('http://127.0.0.1:8080/v2'))).toEqual({
      secure: false,
      hostname: '127.0.0.1',
      port: 8080,
    });
  });

  it('unwraps the brackets of an IPv6 literal, which a connect would otherwise fail on', () => {
    expect(httpOriginOf(new URL('http://[::1]:9000/v2')).hostname).toBe('::1');
  });
});
