import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  loadSecretText,
  parseRunPodApiKey,
  RUNPOD_API_KEY_PLACEHOLDER,
} from '../../../functions/secrets/secret-source.ts';
import {
  type SecretsManagerEmulator,
  startSecretsManager,
} from '../../helpers/lambda/secrets-manager-emulator.ts';
import { type CapturedOutput, captureOutput } from '../../helpers/unit/captured-output.ts';
import { caught, rejected } from '../../helpers/unit/caught.ts';

describe('parseRunPodApiKey', () => {
  it('returns a plain-text key unchanged', () => {
    expect(parseRunPodApiKey('rpa_ABC123xyz')).toBe('rpa_ABC123xyz');
  });

  it('trims whitespace and newlines around a plain-text key', () => {
    expect(parseRunPodApiKey('  rpa_ABC123xyz\n')).toBe('rpa_ABC123xyz');
  });

  it('returns the apiKey field of a JSON secret', () => {
    expect(parseRunPodApiKey('{"apiKey":"rpa_ABC123xyz","note":"prod"}')).toBe('rpa_ABC123xyz');
  });

  it('trims whitespace around a JSON secret and its apiKey', () => {
    expect(parseRunPodApiKey('\n {"apiKey": " rpa_ABC123xyz\\n"} \n')).toBe('rpa_ABC123xyz');
  });

  it.each(['', '   ', '\n\t\n'])('rejects the empty secret %j', (text) => {
    expect(caught(() => parseRunPodApiKey(text), Error).message).toBe(
      'RunPod API key secret is empty',
    );
  });

  it('rejects a JSON secret whose apiKey is blank', () => {
    expect(caught(() => parseRunPodApiKey('{"apiKey":"  "}'), Error).message).toBe(
      'RunPod API key secret is empty',
    );
  });

  it.each(['{"key":"rpa_ABC123xyz"}', '{"apiKey":42}', '{"apiKey":null}', '{}'])(
    'rejects the JSON secret %s that has no string apiKey',
    (text) => {
      expect(caught(() => parseRunPodApiKey(text), Error).message).toBe(
        'RunPod API key secret JSON has no string "apiKey" field',
      );
    },
  );

  it.each([
    ['plain text', `${RUNPOD_API_KEY_PLACEHOLDER}\n`],
    ['JSON', JSON.stringify({ apiKey: RUNPOD_API_KEY_PLACEHOLDER })],
  ])('rejects the placeholder the CDK construct writes, as %s', (_case, text) => {
    // Act
    const error = caught(() => parseRunPodApiKey(text), Error);

    // Assess
    expect(error.message).toBe(
      'RunPod API key secret still holds the placeholder; put the RunPod API key into it',
    );
  });

  it('rejects a secret that looks like JSON but does not parse, without echoing it', () => {
    // Act
    const error = caught(() => parseRunPodApiKey('{"apiKey":"rpa_ABC123xyz"'), Error);

    // Assess
    expect(error.message).toBe('RunPod API key secret looks like JSON but does not parse');
    expect(error.message).not.toContain('rpa_ABC123xyz');
  });
});

describe('loadSecretText', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'secret-source-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads a file: reference exactly, without trimming', async () => {
    // Prepare
    const path = join(directory, 'keys.json');
    await writeFile(path, '{"keys":[]}\n');

    // Act
    const text = await loadSecretText(`file:${path}`);

    // Assess
    expect(text).toBe('{"keys":[]}\n');
  });

  it('rejects a file: reference to a missing file', async () => {
    const error = await rejected(loadSecretText(`file:${join(directory, 'missing.json')}`), Error);
    expect(error).toMatchObject({ code: 'ENOENT' });
  });

  it('reads an env: reference from the environment', async () => {
    // Prepare
    vi.stubEnv('UNIT_SECRET_SOURCE_KEY', 'rpa_FROM_ENV');

    // Act + Assess
    expect(await loadSecretText('env:UNIT_SECRET_SOURCE_KEY')).toBe('rpa_FROM_ENV');
  });

  it('rejects an env: reference to an unset variable, naming the variable', async () => {
    // Prepare
    vi.stubEnv('UNIT_SECRET_SOURCE_KEY', undefined);

    // Act
    const error = await rejected(loadSecretText('env:UNIT_SECRET_SOURCE_KEY'), Error);

    // Assess
    expect(error.message).toBe('Environment variable UNIT_SECRET_SOURCE_KEY is not set');
  });

  it('rejects an env: reference to an empty variable', async () => {
    // Prepare
    vi.stubEnv('UNIT_SECRET_SOURCE_KEY', '');

    // Act
    const error = await rejected(loadSecretText('env:UNIT_SECRET_SOURCE_KEY'), Error);

    // Assess
    expect(error.message).toBe('Environment variable UNIT_SECRET_SOURCE_KEY is not set');
  });
});

describe('loadSecretText from Secrets Manager', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
  const KEYS_ARN = `${ARN}gw-keys-AbCdEf`;
  const RUNPOD_ARN = `${ARN}gw-runpod-GhIjKl`;
  let secretsManager: SecretsManagerEmulator;
  let load: typeof loadSecretText;
  let output: CapturedOutput;

  beforeEach(async () => {
    secretsManager = await startSecretsManager();
    secretsManager.putSecret(KEYS_ARN, '{"keys":[]}');
    secretsManager.putSecret(RUNPOD_ARN, 'rpa_FROM_SECRETS_MANAGER');
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret-access-key');
    // A fresh module: it keeps one SDK client, configured from the environment on first use.
    vi.resetModules();
    load = (await import('../../../functions/secrets/secret-source.ts')).loadSecretText;
    output = captureOutput();
  });

  afterEach(async () => {
    output.restore();
    vi.unstubAllEnvs();
    await secretsManager.close();
  });

  it('reads secrets asked for together with one BatchGetSecretValue', async () => {
    // Act
    const texts = await Promise.all([load(KEYS_ARN), load(RUNPOD_ARN)]);

    // Assess
    expect(texts).toEqual(['{"keys":[]}', 'rpa_FROM_SECRETS_MANAGER']);
    expect(secretsManager.requests).toEqual(['secretsmanager.BatchGetSecretValue']);
  });

  it('matches batch entries to references by name and by partial ARN', async () => {
    // Act
    const texts = await Promise.all([load('gw-keys'), load(`${ARN}gw-runpod`)]);

    // Assess
    expect(texts).toEqual(['{"keys":[]}', 'rpa_FROM_SECRETS_MANAGER']);
    expect(secretsManager.requests).toEqual(['secretsmanager.BatchGetSecretValue']);
  });

  it('reads a secret asked for alone with GetSecretValue', async () => {
    // Act
    const text = await load(RUNPOD_ARN);

    // Assess
    expect(text).toBe('rpa_FROM_SECRETS_MANAGER');
    expect(secretsManager.requests).toEqual(['secretsmanager.GetSecretValue']);
  });

  it('reads a secret asked for twice in the same turn once, for both callers', async () => {
    // Act
    const texts = await Promise.all([load(RUNPOD_ARN), load(RUNPOD_ARN)]);

    // Assess
    expect(texts).toEqual(['rpa_FROM_SECRETS_MANAGER', 'rpa_FROM_SECRETS_MANAGER']);
    expect(secretsManager.requests).toEqual(['secretsmanager.GetSecretValue']);
  });

  it("reads a secret the batch did not return on its own, so it fails with Secrets Manager's error for it", async () => {
    // Act
    const [keys, missing] = await Promise.allSettled([
      load(KEYS_ARN),
      load(`${ARN}gw-missing-MnOpQr`),
    ]);

    // Assess
    expect(keys).toEqual({ status: 'fulfilled', value: '{"keys":[]}' });
    expect(missing).toMatchObject({
      status: 'rejected',
      reason: { name: 'ResourceNotFoundException' },
    });
    expect(secretsManager.requests).toEqual([
      'secretsmanager.BatchGetSecretValue',
      'secretsmanager.GetSecretValue',
    ]);
  });

  it('falls back to one read per secret, with a warning, when the batch read is refused', async () => {
    // Prepare
    secretsManager.deny('secretsmanager.BatchGetSecretValue');

    // Act
    const texts = await Promise.all([load(KEYS_ARN), load(RUNPOD_ARN)]);

    // Assess
    expect(texts).toEqual(['{"keys":[]}', 'rpa_FROM_SECRETS_MANAGER']);
    expect(secretsManager.requests).toEqual([
      'secretsmanager.BatchGetSecretValue',
      'secretsmanager.GetSecretValue',
      'secretsmanager.GetSecretValue',
    ]);
    expect(output.records()).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'batch read of secrets failed; reading them one by one',
        reason: expect.stringContaining('not authorized'),
      }),
    ]);
  });
});
