import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUNPOD_BASE_URL,
  readSettings,
  upstreamTimeoutVariable,
} from '../../../functions/config/settings.ts';
import { OPERATIONS, routeFor } from '../../../functions/routes.ts';
import { caught } from '../../helpers/unit/caught.ts';

const REQUIRED = {
  GATEWAY_KEY_STORE: 'file:/var/task/keys.json',
  RUNPOD_API_KEY_SECRET: 'runpod/api-key',
  LAMBDA_TASK_ROOT: '/var/task',
  LEDGER_TABLE: 'gateway-ledger',
} as const;

describe('readSettings', () => {
  it('uses the documented defaults when only the required variables are set', () => {
    // Act
    const settings = readSettings('run', { ...REQUIRED });

    // Assess
    expect(settings).toEqual({
      routingConfigPath: '/var/task/routing.json',
      keyStoreRef: 'file:/var/task/keys.json',
      runpodApiKeyRef: 'runpod/api-key',
      runpodBaseUrl: 'https://api.runpod.ai/v2',
      secretsMaxAgeMs: 300_000,
      maxRequestBodyBytes: 5 * 1024 * 1024,
      maxUpstreamBodyBytes: 32 * 1024 * 1024,
      upstreamTimeoutMs: 10_000,
      // The stream function's 900 s less 20 s to write the closing event.
      streamMaxDurationMs: 880_000,
      streamKeepAliveMs: 15_000,
      streamPollWaitMs: 10_000,
      streamJournal: true,
      streamLeaseMs: 30_000,
      ledgerTableName: 'gateway-ledger',
      dynamoDbEndpoint: undefined,
      usageRetentionDays: 400,
    });
    expect(DEFAULT_RUNPOD_BASE_URL).toBe(settings.runpodBaseUrl);
  });

  it('requires LEDGER_TABLE only for the operations that record or look up jobs', () => {
    const { LEDGER_TABLE: _omitted, ...withoutLedger } = REQUIRED;

    for (const operation of OPERATIONS) {
      if (routeFor(operation).ledger === 'none') {
        expect(readSettings(operation, withoutLedger).ledgerTableName).toBeUndefined();
      } else {
        expect(caught(() => readSettings(operation, withoutLedger), Error).message).toBe(
          'LEDGER_TABLE is not set',
        );
      }
    }
  });

  it('takes a DynamoDB-compatible endpoint from DYNAMODB_ENDPOINT and refuses one that is not http(s)', () => {
    expect(
      readSettings('status', { ...REQUIRED, DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' })
        .dynamoDbEndpoint,
    ).toBe('http://127.0.0.1:8000');
    expect(
      caught(() => readSettings('status', { ...REQUIRED, DYNAMODB_ENDPOINT: 'ftp://x' }), Error)
        .message,
    ).toBe('DYNAMODB_ENDPOINT must be an http(s) URL, got "ftp://x"');
  });

  it.each(OPERATIONS)(
    'takes the default upstream timeout of %s from the routes table',
    (operation) => {
      expect(readSettings(operation, { ...REQUIRED }).upstreamTimeoutMs).toBe(
        routeFor(operation).upstreamTimeoutMs,
      );
    },
  );

  it('gives health and runsync their own default upstream timeouts', () => {
    expect(readSettings('health', { ...REQUIRED }).upstreamTimeoutMs).toBe(5_000);
    expect(readSettings('runsync', { ...REQUIRED }).upstreamTimeoutMs).toBe(15_000);
  });

  it('reads every override from the environment', () => {
    // Act
    const settings = readSettings('stream', {
      ...REQUIRED,
      GATEWAY_CONFIG: '/etc/gateway/routing.json',
      RUNPOD_BASE_URL: 'http://127.0.0.1:8080/v2/',
      SECRETS_MAX_AGE_MS: '60000',
      MAX_REQUEST_BODY_BYTES: '1024',
      UPSTREAM_TIMEOUT_MS_STREAM: '2500',
      STREAM_MAX_DURATION_MS: '30000',
      STREAM_KEEPALIVE_MS: '500',
      STREAM_POLL_WAIT_MS: '2000',
      STREAM_JOURNAL: 'off',
      STREAM_LEASE_MS: '9000',
      USAGE_RETENTION_DAYS: '30',
    });

    // Assess
    expect(settings).toEqual({
      routingConfigPath: '/etc/gateway/routing.json',
      keyStoreRef: 'file:/var/task/keys.json',
      runpodApiKeyRef: 'runpod/api-key',
      runpodBaseUrl: 'http://127.0.0.1:8080/v2',
      secretsMaxAgeMs: 60_000,
      maxRequestBodyBytes: 1_024,
      maxUpstreamBodyBytes: 32 * 1024 * 1024,
      upstreamTimeoutMs: 2_500,
      streamMaxDurationMs: 30_000,
      streamKeepAliveMs: 500,
      streamPollWaitMs: 2_000,
      streamJournal: false,
      streamLeaseMs: 9_000,
      ledgerTableName: 'gateway-ledger',
      dynamoDbEndpoint: undefined,
      usageRetentionDays: 30,
    });
  });

  it('reads the purge-queue upstream timeout from UPSTREAM_TIMEOUT_MS_PURGE_QUEUE', () => {
    // Prepare
    const env = { ...REQUIRED, UPSTREAM_TIMEOUT_MS_PURGE_QUEUE: '1234' };

    // Act + Assess
    expect(readSettings('purge-queue', env).upstreamTimeoutMs).toBe(1_234);
    expect(readSettings('run', env).upstreamTimeoutMs).toBe(routeFor('run').upstreamTimeoutMs);
  });

  it('applies an operation timeout variable to that operation only', () => {
    // Prepare
    const env = { ...REQUIRED, UPSTREAM_TIMEOUT_MS_RUN: '777' };

    // Act + Assess
    expect(readSettings('run', env).upstreamTimeoutMs).toBe(777);
    expect(readSettings('runsync', env).upstreamTimeoutMs).toBe(15_000);
  });

  it('treats an empty number variable as unset', () => {
    expect(readSettings('run', { ...REQUIRED, SECRETS_MAX_AGE_MS: '' }).secretsMaxAgeMs).toBe(
      300_000,
    );
  });

  it.each([
    ['SECRETS_MAX_AGE_MS', 'abc'],
    ['MAX_REQUEST_BODY_BYTES', '0'],
    ['STREAM_KEEPALIVE_MS', '-5'],
    ['STREAM_POLL_WAIT_MS', '1.5'],
    ['STREAM_MAX_DURATION_MS', '9007199254740993'],
    ['UPSTREAM_TIMEOUT_MS_PURGE_QUEUE', 'ten'],
  ])('throws naming %s when it is %j', (name, raw) => {
    // Act
    const error = caught(() => readSettings('purge-queue', { ...REQUIRED, [name]: raw }), Error);

    // Assess
    expect(error.message).toBe(`${name} must be a positive integer, got "${raw}"`);
  });

  it('throws naming STREAM_JOURNAL when it is neither on nor off', () => {
    expect(
      caught(() => readSettings('stream', { ...REQUIRED, STREAM_JOURNAL: 'yes' }), Error).message,
    ).toBe('STREAM_JOURNAL must be "on" or "off", got "yes"');
  });

  it.each(['GATEWAY_KEY_STORE', 'RUNPOD_API_KEY_SECRET'])('throws when %s is missing', (name) => {
    // Prepare
    const env: NodeJS.ProcessEnv = { ...REQUIRED };
    delete env[name];

    // Act + Assess
    expect(caught(() => readSettings('run', env), Error).message).toBe(`${name} is not set`);
  });

  it('throws when GATEWAY_KEY_STORE is empty', () => {
    expect(
      caught(() => readSettings('run', { ...REQUIRED, GATEWAY_KEY_STORE: '' }), Error).message,
    ).toBe('GATEWAY_KEY_STORE is not set');
  });

  it('resolves a relative GATEWAY_CONFIG against LAMBDA_TASK_ROOT', () => {
    expect(
      readSettings('run', { ...REQUIRED, GATEWAY_CONFIG: 'config/routing.json' }).routingConfigPath,
    ).toBe('/var/task/config/routing.json');
  });

  it('resolves a relative GATEWAY_CONFIG against the working directory outside Lambda', () => {
    // Prepare
    const { LAMBDA_TASK_ROOT: _root, ...env } = REQUIRED;

    // Act + Assess
    expect(
      readSettings('run', { ...env, GATEWAY_CONFIG: 'config/routing.json' }).routingConfigPath,
    ).toBe(resolve(process.cwd(), 'config/routing.json'));
  });

  it('keeps an absolute GATEWAY_CONFIG as it is', () => {
    expect(
      readSettings('run', { ...REQUIRED, GATEWAY_CONFIG: '/opt/routing.json' }).routingConfigPath,
    ).toBe('/opt/routing.json');
  });

  it.each(['ftp://runpod.example.com/v2', 'file:///etc/passwd'])(
    'throws naming RUNPOD_BASE_URL when it is %s',
    (url) => {
      expect(
        caught(() => readSettings('run', { ...REQUIRED, RUNPOD_BASE_URL: url }), Error).message,
      ).toBe(`RUNPOD_BASE_URL must be an http(s) URL, got "${url}"`);
    },
  );

  it('throws when RUNPOD_BASE_URL is not a URL', () => {
    expect(() => readSettings('run', { ...REQUIRED, RUNPOD_BASE_URL: 'not a url' })).toThrow();
  });
});

describe('upstreamTimeoutVariable', () => {
  it.each([
    ['run', 'UPSTREAM_TIMEOUT_MS_RUN'],
    ['runsync', 'UPSTREAM_TIMEOUT_MS_RUNSYNC'],
    ['purge-queue', 'UPSTREAM_TIMEOUT_MS_PURGE_QUEUE'],
  ] as const)('names the variable for %s %s', (operation, variable) => {
    expect(upstreamTimeoutVariable(operation)).toBe(variable);
  });
});
