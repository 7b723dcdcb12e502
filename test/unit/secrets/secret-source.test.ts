import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  loadSecretText,
  parseRunPodApiKey,
  RUNPOD_API_KEY_PLACEHOLDER,
} from '../../../functions/secrets/secret-source.ts';
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
