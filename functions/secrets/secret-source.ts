import { readFile } from 'node:fs/promises';
import type { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Where a secret's text comes from, by reference:
 * - `file:<path>`: a local file (the local runtime's key store);
 * - `env:<NAME>`: an environment variable (the local runtime's RunPod key only; the CDK
 *   construct never sets secrets in the environment);
 * - anything else: a Secrets Manager secret name or ARN.
 */
export type SecretLoader = (reference: string) => Promise<string>;

interface SecretsManagerAccess {
  readonly client: SecretsManagerClient;
  readonly GetSecretValueCommand: typeof GetSecretValueCommand;
}

let secretsManager: Promise<SecretsManagerAccess> | undefined;

/** The SDK is imported on first use, so the local runtime never pays for loading it. */
function secretsManagerAccess(): Promise<SecretsManagerAccess> {
  secretsManager ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
    client: new sdk.SecretsManagerClient({}),
    GetSecretValueCommand: sdk.GetSecretValueCommand,
  }));
  return secretsManager;
}

export const loadSecretText: SecretLoader = async (reference) => {
  if (reference.startsWith('file:')) {
    return readFile(reference.slice('file:'.length), 'utf8');
  }
  if (reference.startsWith('env:')) {
    const value = process.env[reference.slice('env:'.length)];
    if (value === undefined || value === '') {
      throw new Error(`Environment variable ${reference.slice('env:'.length)} is not set`);
    }
    return value;
  }
  const { client, GetSecretValueCommand } = await secretsManagerAccess();
  const result = await client.send(new GetSecretValueCommand({ SecretId: reference }));
  if (result.SecretString === undefined) {
    throw new Error(`Secret ${reference} has no string value`);
  }
  return result.SecretString;
};

/** What the CDK construct puts in a RunPod key secret it creates, until the operator replaces it. */
export const RUNPOD_API_KEY_PLACEHOLDER = 'REPLACE_WITH_YOUR_RUNPOD_API_KEY';

/** A RunPod key secret holds the key as plain text or as `{"apiKey":"…"}`. */
export function parseRunPodApiKey(text: string): string {
  const trimmed = text.trim();
  let key = trimmed;
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new Error('RunPod API key secret looks like JSON but does not parse');
    }
    const apiKey =
      typeof json === 'object' && json !== null && 'apiKey' in json ? json.apiKey : undefined;
    if (typeof apiKey !== 'string') {
      throw new Error('RunPod API key secret JSON has no string "apiKey" field');
    }
    key = apiKey.trim();
  }
  if (key === '') throw new Error('RunPod API key secret is empty');
  if (key === RUNPOD_API_KEY_PLACEHOLDER) {
    throw new Error(
      'RunPod API key secret still holds the placeholder; put the RunPod API key into it',
    );
  }
  return key;
}
