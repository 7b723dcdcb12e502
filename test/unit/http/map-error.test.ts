import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/http/gateway-error.ts';
import { DEFAULT_RETRY_AFTER_SECONDS, toGatewayError } from '../../../functions/http/map-error.ts';
import {
  RunPodHttpError,
  RunPodInvalidResponseError,
  RunPodNetworkError,
  RunPodTimeoutError,
} from '../../../functions/runpod/errors.ts';

describe('toGatewayError', () => {
  it('returns a GatewayError unchanged', () => {
    // Prepare
    const original = new GatewayError('forbidden', 'no');

    // Act + Assess
    expect(toGatewayError(original)).toBe(original);
  });

  it('keeps RunPod 400 as 400 upstream_bad_request with RunPod message in the detail', () => {
    // Act
    const error = toGatewayError(new RunPodHttpError(400, 'input is required', undefined));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'upstream_bad_request' });
    expect(error.detail).toBe('RunPod rejected the request: input is required');
  });

  it('keeps RunPod 400 without a message as 400 with a generic detail', () => {
    expect(toGatewayError(new RunPodHttpError(400, undefined, undefined)).detail).toBe(
      'RunPod rejected the request',
    );
  });

  it('keeps RunPod 404 as 404 upstream_not_found with RunPod message in the detail', () => {
    // Act
    const error = toGatewayError(new RunPodHttpError(404, 'job not found', undefined));

    // Assess
    expect(error).toMatchObject({ status: 404, code: 'upstream_not_found' });
    expect(error.detail).toBe('RunPod found no such job or endpoint: job not found');
  });

  it.each([401, 403])(
    'maps RunPod %i to 502 upstream_auth_failed without echoing RunPod text',
    (status) => {
      // Act
      const error = toGatewayError(
        new RunPodHttpError(status, 'invalid key rpa_ABC for account 42', undefined),
      );

      // Assess
      expect(error).toMatchObject({ status: 502, code: 'upstream_auth_failed' });
      expect(error.detail).not.toContain('rpa_ABC');
      expect(error.detail).not.toContain('account 42');
    },
  );

  it.each([
    ['a number of seconds', '17', '17'],
    ['an HTTP date 30 s ahead', new Date(Date.now() + 30_500).toUTCString(), /^(30|31)$/],
    ['11 days', '999999', '60'],
    ['0', '0', '1'],
    ['a date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', '1'],
  ])(
    'keeps RunPod 429 as 429 upstream_rate_limited with Retry-After for %s clamped to 1–60 s',
    (_case, retryAfter, expected) => {
      // Act
      const error = toGatewayError(new RunPodHttpError(429, 'slow down', retryAfter));

      // Assess
      expect(error).toMatchObject({ status: 429, code: 'upstream_rate_limited' });
      expect(error.headers['Retry-After']).toMatch(
        typeof expected === 'string' ? new RegExp(`^${expected}$`) : expected,
      );
    },
  );

  it('trims whitespace around a passed-on Retry-After', () => {
    expect(toGatewayError(new RunPodHttpError(429, undefined, ' 3 ')).headers).toEqual({
      'Retry-After': '3',
    });
  });

  it('answers 429 with the default Retry-After when RunPod sends none', () => {
    // Act
    const error = toGatewayError(new RunPodHttpError(429, undefined, undefined));

    // Assess
    expect(error.headers).toEqual({ 'Retry-After': '5' });
  });

  it.each(['soon', '', 'x1', '12 monkeys', 'retry in 2', '1.5', '-1', 'tomorrow 3'])(
    'answers 429 with the default Retry-After when RunPod sends the garbage value %j',
    (retryAfter) => {
      expect(toGatewayError(new RunPodHttpError(429, undefined, retryAfter)).headers).toEqual({
        'Retry-After': DEFAULT_RETRY_AFTER_SECONDS,
      });
    },
  );

  it.each([500, 502, 503, 504, 409])('maps RunPod %i to 502 upstream_error', (status) => {
    // Act
    const error = toGatewayError(new RunPodHttpError(status, 'stack trace at line 3', undefined));

    // Assess
    expect(error).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(error.detail).toBe(`RunPod answered ${status}`);
  });

  it('maps a RunPod timeout to 504 upstream_timeout naming the time waited', () => {
    // Act
    const error = toGatewayError(new RunPodTimeoutError(10_000));

    // Assess
    expect(error).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(error.detail).toBe('RunPod did not answer within 10000 ms');
  });

  it('maps a network failure to 502 upstream_unreachable without the low-level error', () => {
    // Act
    const error = toGatewayError(
      new RunPodNetworkError('RunPod could not be reached', {
        cause: new Error('connect ECONNREFUSED 10.0.0.7:443'),
      }),
    );

    // Assess
    expect(error).toMatchObject({ status: 502, code: 'upstream_unreachable' });
    expect(error.detail).toBe('RunPod could not be reached');
  });

  it('maps an invalid RunPod answer to 502 upstream_error', () => {
    // Act
    const error = toGatewayError(
      new RunPodInvalidResponseError('RunPod answered with a body that is not JSON'),
    );

    // Assess
    expect(error).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(error.detail).toBe('RunPod answered with a body that is not JSON');
  });

  it.each([
    ['an Error', new Error('Cannot read properties of undefined (reading rpa_SECRET)')],
    ['a thrown string', 'rpa_SECRET exploded'],
    ['undefined', undefined],
  ])('maps %s to 500 internal_error whose detail does not repeat it', (_case, thrown) => {
    // Act
    const error = toGatewayError(thrown);

    // Assess
    expect(error).toMatchObject({ status: 500, code: 'internal_error' });
    expect(error.detail).toBe('The gateway failed unexpectedly; the failure was logged');
    expect(error.detail).not.toContain('rpa_SECRET');
    expect(error.cause).toBe(thrown);
  });

  it('maps middy’s early timeout (a TimeoutError) to 504 gateway_timeout', () => {
    // Prepare
    const timeout = new Error('[AbortError]: The operation was aborted.');
    timeout.name = 'TimeoutError';

    // Act
    const error = toGatewayError(timeout);

    // Assess
    expect({ status: error.status, code: error.code }).toEqual({
      status: 504,
      code: 'gateway_timeout',
    });
  });
});
