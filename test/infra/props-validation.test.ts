import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { RoutingConfig } from '../../functions/routing/routing-config.ts';
import type { RunPodGatewayProps } from '../../infra/constructs/runpod-gateway.ts';
import { buildGateway } from './gateway-fixture.ts';

/** Props a JavaScript caller (or a cast) could pass; the construct must refuse them clearly. */
function loose<T>(value: unknown): T {
  return value as T;
}

describe('RunPodGateway refuses invalid props', () => {
  const cases: ReadonlyArray<readonly [string, Partial<RunPodGatewayProps>, RegExp]> = [
    [
      'a routing config with an unknown field',
      {
        routing: loose<RoutingConfig>({ surfaces: { chat: { endpointId: 'abc', endpoint: 'x' } } }),
      },
      /Invalid routing config: surfaces\.chat: unknown field "endpoint"/,
    ],
    [
      'a routing config with a bad endpoint id',
      { routing: { surfaces: { chat: { endpointId: 'Not/An-Id' } } } },
      /Invalid routing config: surfaces\.chat\.endpointId/,
    ],
    [
      'a routing config without surfaces',
      { routing: loose<RoutingConfig>({}) },
      /Invalid routing config: surfaces: is required/,
    ],
    [
      'a routing config with no surface at all',
      { routing: { surfaces: {} } },
      /surfaces must name at least one surface/,
    ],
    [
      'an apiKeySecret that is neither a name nor a secret ARN',
      {
        routing: {
          surfaces: { chat: { endpointId: 'abc', apiKeySecret: 'arn:aws:s3:::bucket' } },
        },
      },
      /Invalid routing config: surfaces\.chat\.apiKeySecret/,
    ],
    [
      'a plain-http upstream that is not loopback',
      { upstreamBaseUrl: 'http://api.runpod.ai/v2' },
      /upstreamBaseUrl must use https .* got "http:\/\/api\.runpod\.ai\/v2"/,
    ],
    [
      'an upstream URL carrying credentials',
      { upstreamBaseUrl: 'https://user:pass@api.runpod.ai/v2' },
      /upstreamBaseUrl must not carry credentials/,
    ],
    ['an upstream that is not a URL', { upstreamBaseUrl: 'api.runpod.ai' }, /absolute URL/],
    [
      'a request body limit at Lambda’s 6 MB',
      { maxRequestBodyBytes: 6 * 1024 * 1024 },
      /maxRequestBodyBytes must be an integer from 1 to 6291455, got 6291456/,
    ],
    [
      'a fractional request body limit',
      { maxRequestBodyBytes: 10.5 },
      /maxRequestBodyBytes must be an integer .* got 10\.5/,
    ],
    [
      'a zero rate limit',
      { throttling: { rateLimit: 0 } },
      /throttling\.rateLimit must be a number greater than 0, got 0/,
    ],
    [
      'a fractional burst limit',
      { throttling: { burstLimit: 1.5 } },
      /throttling\.burstLimit must be an integer/,
    ],
    ['too little memory', { memorySize: 64 }, /memorySize must be an integer from 128 to 10240/],
    [
      'an upstream timeout as long as the function timeout',
      { upstreamTimeouts: { run: Duration.seconds(29) } },
      /upstreamTimeouts\.run must be .* below 29000 ms, got 29 seconds/,
    ],
    [
      'an upstream timeout for an unknown operation',
      { upstreamTimeouts: loose({ submit: Duration.seconds(1) }) },
      /upstreamTimeouts has an unknown operation "submit"; operations are run, runsync/,
    ],
    [
      'a stream duration beyond the stream function timeout',
      { streamMaxDuration: Duration.minutes(15) },
      /streamMaxDuration must be .* below 900000 ms, got 15 minutes/,
    ],
    [
      'a zero secrets cache age',
      { secretsCacheMaxAge: Duration.seconds(0) },
      /secretsCacheMaxAge must be .* above 0/,
    ],
    [
      'an unknown log level',
      { logLevel: loose('VERBOSE') },
      /logLevel must be one of DEBUG, INFO, WARN, ERROR, got "VERBOSE"/,
    ],
    [
      'execution logging turned off',
      { executionLogLevel: loose('OFF') },
      /executionLogLevel must be INFO or ERROR, got "OFF"/,
    ],
    ['a stage name with a slash', { stageName: 'v1/prod' }, /stageName must be .* got "v1\/prod"/],
    [
      'a web ACL ARN that is not a regional WAFv2 ACL',
      { webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y' },
      /webAclArn must be a regional WAFv2 web ACL ARN/,
    ],
    [
      'a reserved concurrency of zero (which would switch the function off)',
      { reservedConcurrency: { stream: 0 } },
      /reservedConcurrency\.stream must be an integer from 1 to 10000, got 0/,
    ],
    [
      'reserved concurrency for an operation that does not exist',
      { reservedConcurrency: loose({ streaming: 5 }) },
      /reservedConcurrency has an unknown operation "streaming"/,
    ],
    [
      'a negative per-operation rate',
      { operationThrottling: { run: { rateLimit: -1 } } },
      /operationThrottling\.run\.rateLimit must be/,
    ],
    [
      'a sweep more often than once a minute',
      { jobSweep: { interval: Duration.seconds(30) } },
      /jobSweep\.interval must be a whole number of minutes from 1 minute to 1 day/,
    ],
    [
      'a sweep of jobs a day old or more',
      { jobSweep: { minAge: Duration.days(1) } },
      /jobSweep\.minAge must be/,
    ],
  ];

  it.each(cases)('%s', (_name, props, message) => {
    // Prepare + Act + Assess
    expect(() => buildGateway(props)).toThrow(message);
  });

  it('leaves the sweep out with jobSweep: false, and takes another schedule', () => {
    expect(buildGateway({ jobSweep: false }).sweepFunction).toBeUndefined();
    expect(
      buildGateway({ jobSweep: { interval: Duration.hours(1), minAge: Duration.minutes(30) } })
        .sweepFunction,
    ).toBeDefined();
  });

  it('accepts a plain-http loopback upstream (a local simulator)', () => {
    expect(() => buildGateway({ upstreamBaseUrl: 'http://127.0.0.1:8787/v2' })).not.toThrow();
  });
});
