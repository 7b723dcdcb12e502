import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/http/gateway-error.ts';
import { SecretCache } from '../../../functions/secrets/secret-cache.ts';
import { type CapturedOutput, captureOutput } from '../../helpers/unit/captured-output.ts';
import { rejected } from '../../helpers/unit/caught.ts';

const MAX_AGE_MS = 300_000;
const STALE_RETRY_MS = 30_000;
const REF = 'runpod/api-key';

/** A secret source answering from a script: each load takes the next outcome. */
class FakeSource {
  readonly outcomes: Array<string | Error> = [];
  readonly references: string[] = [];

  readonly load = async (reference: string): Promise<string> => {
    this.references.push(reference);
    const outcome = this.outcomes.shift();
    if (outcome === undefined) throw new Error('fake source: no outcome scripted');
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };

  get loads(): number {
    return this.references.length;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

describe('SecretCache', () => {
  let clock: number;
  let source: FakeSource;
  let output: CapturedOutput;

  const cacheOf = (parse: (text: string) => string = (text) => text.trim()) =>
    new SecretCache<string>({
      load: source.load,
      parse,
      maxAgeMs: MAX_AGE_MS,
      description: 'RunPod API key',
      now: () => clock,
    });

  beforeEach(() => {
    clock = 1_000_000;
    source = new FakeSource();
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  it('loads the secret on first use and serves the parsed value', async () => {
    // Prepare
    source.outcomes.push('  key-one\n');

    // Act
    const value = await cacheOf().get(REF);

    // Assess
    expect(value).toBe('key-one');
    expect(source.references).toEqual([REF]);
  });

  it('serves the cached value without loading again within the max age', async () => {
    // Prepare
    source.outcomes.push('key-one');
    const cache = cacheOf();
    await cache.get(REF);

    // Act
    clock += MAX_AGE_MS - 1;
    const value = await cache.get(REF);

    // Assess
    expect(value).toBe('key-one');
    expect(source.loads).toBe(1);
  });

  it('loads again once the max age has passed and serves the rotated value', async () => {
    // Prepare
    source.outcomes.push('key-one', 'key-two');
    const cache = cacheOf();
    await cache.get(REF);

    // Act
    clock += MAX_AGE_MS;
    const value = await cache.get(REF);

    // Assess
    expect(value).toBe('key-two');
    expect(source.loads).toBe(2);
  });

  it('caches each reference on its own', async () => {
    // Prepare
    source.outcomes.push('key-a', 'key-b');
    const cache = cacheOf();

    // Act
    const first = await cache.get('secret-a');
    const second = await cache.get('secret-b');
    const firstAgain = await cache.get('secret-a');

    // Assess
    expect([first, second, firstAgain]).toEqual(['key-a', 'key-b', 'key-a']);
    expect(source.references).toEqual(['secret-a', 'secret-b']);
  });

  it('shares one load between concurrent first gets', async () => {
    // Prepare
    const pending = deferred<string>();
    let loads = 0;
    const cache = new SecretCache<string>({
      load: () => {
        loads++;
        return pending.promise;
      },
      parse: (text) => text,
      maxAgeMs: MAX_AGE_MS,
      description: 'RunPod API key',
      now: () => clock,
    });

    // Act
    const gets = [cache.get(REF), cache.get(REF), cache.get(REF)];
    pending.resolve('key-one');
    const values = await Promise.all(gets);

    // Assess
    expect(values).toEqual(['key-one', 'key-one', 'key-one']);
    expect(loads).toBe(1);
  });

  it('shares one load between concurrent gets of an expired value', async () => {
    // Prepare
    let pending = deferred<string>();
    let loads = 0;
    const cache = new SecretCache<string>({
      load: () => {
        loads++;
        return pending.promise;
      },
      parse: (text) => text,
      maxAgeMs: MAX_AGE_MS,
      description: 'RunPod API key',
      now: () => clock,
    });
    const first = cache.get(REF);
    pending.resolve('key-one');
    await first;
    pending = deferred<string>();
    clock += MAX_AGE_MS;

    // Act
    const gets = [cache.get(REF), cache.get(REF)];
    pending.resolve('key-two');
    const values = await Promise.all(gets);

    // Assess
    expect(values).toEqual(['key-two', 'key-two']);
    expect(loads).toBe(2);
  });

  it('serves the stale value when a refresh fails', async () => {
    // Prepare
    source.outcomes.push('key-one', new Error('AccessDeniedException: not authorized'));
    const cache = cacheOf();
    await cache.get(REF);
    clock += MAX_AGE_MS;

    // Act
    const value = await cache.get(REF);

    // Assess
    expect(value).toBe('key-one');
    expect(source.loads).toBe(2);
  });

  it('waits 30 s after a failed refresh before trying again', async () => {
    // Prepare
    source.outcomes.push('key-one', new Error('throttled'), 'key-two');
    const cache = cacheOf();
    await cache.get(REF);
    clock += MAX_AGE_MS;
    await cache.get(REF);
    const failedAt = clock;

    // Act
    clock = failedAt + 1_000;
    const soonAfter = await cache.get(REF);
    clock = failedAt + STALE_RETRY_MS - 1;
    const justBefore = await cache.get(REF);
    const loadsDuringPause = source.loads;
    clock = failedAt + STALE_RETRY_MS;
    const after = await cache.get(REF);

    // Assess
    expect([soonAfter, justBefore]).toEqual(['key-one', 'key-one']);
    expect(loadsDuringPause).toBe(2);
    expect(after).toBe('key-two');
    expect(source.loads).toBe(3);
  });

  it('logs a failed refresh as a warning without the cached secret', async () => {
    // Prepare
    source.outcomes.push('rpa_SECRETVALUE123', new Error('throttled'));
    const cache = cacheOf();
    await cache.get(REF);
    clock += MAX_AGE_MS;

    // Act
    await cache.get(REF);

    // Assess
    const warning = output.records().find((record) => record.level === 'WARN');
    expect(warning).toMatchObject({
      message: 'secret refresh failed; serving the cached value',
      secret: 'RunPod API key',
      reason: 'throttled',
    });
    expect(output.text()).not.toContain('rpa_SECRETVALUE123');
  });

  it('answers 503 secrets_unavailable when the first load fails, without the failure text', async () => {
    // Prepare
    source.outcomes.push(new Error('ResourceNotFoundException: secret runpod/api-key-xyz'));

    // Act
    const error = await rejected(cacheOf().get(REF), GatewayError);

    // Assess
    expect(error.code).toBe('secrets_unavailable');
    expect(error.status).toBe(503);
    expect(error.headers).toEqual({ 'Retry-After': '5' });
    expect(error.detail).toBe('The gateway could not read its RunPod API key; try again shortly');
    expect(error.detail).not.toContain('ResourceNotFound');
    expect(error.detail).not.toContain('api-key-xyz');
  });

  it('tries to load again on the next get after a failure with no value', async () => {
    // Prepare
    source.outcomes.push(new Error('network down'), 'key-one');
    const cache = cacheOf();
    await rejected(cache.get(REF), GatewayError);

    // Act
    const value = await cache.get(REF);

    // Assess
    expect(value).toBe('key-one');
    expect(source.loads).toBe(2);
  });

  it('answers 503 when the loaded text does not parse, without the text or the parse error', async () => {
    // Prepare
    source.outcomes.push('{"apiKey": rpa_LEAKED');
    const cache = cacheOf(() => {
      throw new Error('bad secret {"apiKey": rpa_LEAKED');
    });

    // Act
    const error = await rejected(cache.get(REF), GatewayError);

    // Assess
    expect(error.code).toBe('secrets_unavailable');
    expect(error.detail).not.toContain('rpa_LEAKED');
    expect(error.detail).not.toContain('bad secret');
  });

  it('serves the stale value when a refreshed text does not parse', async () => {
    // Prepare
    source.outcomes.push('good', 'bad');
    const cache = cacheOf((text) => {
      if (text === 'bad') throw new Error('does not parse');
      return text.toUpperCase();
    });
    await cache.get(REF);
    clock += MAX_AGE_MS;

    // Act
    const value = await cache.get(REF);

    // Assess
    expect(value).toBe('GOOD');
    expect(source.loads).toBe(2);
  });
});
