import type {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretValueEntry,
} from '@aws-sdk/client-secrets-manager';
import { logger } from '../observability/logger.ts';
import { fsPromises } from '../runtime/builtins.ts';

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
  readonly BatchGetSecretValueCommand: typeof BatchGetSecretValueCommand;
}

let secretsManager: Promise<SecretsManagerAccess> | undefined;

/** The SDK is imported on first use, so the local runtime never pays for loading it. */
function secretsManagerAccess(): Promise<SecretsManagerAccess> {
  secretsManager ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
    client: new sdk.SecretsManagerClient({}),
    GetSecretValueCommand: sdk.GetSecretValueCommand,
    BatchGetSecretValueCommand: sdk.BatchGetSecretValueCommand,
  }));
  return secretsManager;
}

export const loadSecretText: SecretLoader = async (reference) => {
  if (reference.startsWith('file:')) {
    return fsPromises.readFile(reference.slice('file:'.length), 'utf8');
  }
  if (reference.startsWith('env:')) {
    const value = process.env[reference.slice('env:'.length)];
    if (value === undefined || value === '') {
      throw new Error(`Environment variable ${reference.slice('env:'.length)} is not set`);
    }
    return value;
  }
  return readFromSecretsManager(reference);
};

interface PendingRead {
  readonly reference: string;
  readonly resolve: (text: string) => void;
  readonly reject: (error: unknown) => void;
}

let queued: PendingRead[] | undefined;

/** BatchGetSecretValue takes at most 20 secret ids; any beyond are read one by one. */
const MAX_BATCH = 20;

/**
 * Secrets Manager reads asked for in the same turn of the event loop go out together: one
 * `BatchGetSecretValue` for several secrets. The runtime asks for both of its secrets at cold
 * start, and the bench measured the second request at about 5 ms of cold start.
 */
function readFromSecretsManager(reference: string): Promise<string> {
  // Start loading the SDK now; the batch is sent once it is loaded.
  const access = secretsManagerAccess();
  return new Promise((resolve, reject) => {
    if (queued === undefined) {
      const batch: PendingRead[] = [];
      queued = batch;
      setImmediate(() => {
        queued = undefined;
        void readBatch(access, batch);
      });
    }
    queued.push({ reference, resolve, reject });
  });
}

async function readBatch(
  accessing: Promise<SecretsManagerAccess>,
  batch: readonly PendingRead[],
): Promise<void> {
  let access: SecretsManagerAccess;
  try {
    access = await accessing;
  } catch (error) {
    for (const read of batch) read.reject(error);
    return;
  }
  const references = [...new Set(batch.map((read) => read.reference))];
  let entries: readonly SecretValueEntry[] = [];
  if (references.length > 1) {
    try {
      const answer = await access.client.send(
        new access.BatchGetSecretValueCommand({ SecretIdList: references.slice(0, MAX_BATCH) }),
      );
      entries = answer.SecretValues ?? [];
    } catch (error) {
      // Read them one by one instead (a role without the batch permission, throttling).
      logger.warn('batch read of secrets failed; reading them one by one', {
        reason: error instanceof Error ? error.message : 'unknown error',
      });
    }
  }
  // One answer per secret, shared by every read that asked for it.
  const answers = new Map<string, Promise<string>>();
  for (const reference of references) {
    const text = entryOf(entries, reference)?.SecretString;
    // A secret the batch did not return (its own error, or no batch) is read on its own, so
    // that its error is Secrets Manager's own for that secret.
    answers.set(reference, text !== undefined ? Promise.resolve(text) : readOne(access, reference));
  }
  for (const read of batch) answers.get(read.reference)?.then(read.resolve, read.reject);
}

async function readOne(access: SecretsManagerAccess, reference: string): Promise<string> {
  const result = await access.client.send(
    new access.GetSecretValueCommand({ SecretId: reference }),
  );
  if (result.SecretString === undefined) {
    throw new Error(`Secret ${reference} has no string value`);
  }
  return result.SecretString;
}

/** What Secrets Manager appends to a secret's name in its ARN: `-` and six random characters. */
const ARN_SUFFIX_LENGTH = '-AbCdEf'.length;

/** The entry for a reference: its complete ARN, its name, or its ARN without the suffix. */
function entryOf(
  entries: readonly SecretValueEntry[],
  reference: string,
): SecretValueEntry | undefined {
  return entries.find(
    (entry) =>
      entry.ARN === reference ||
      entry.Name === reference ||
      (entry.ARN?.startsWith(`${reference}-`) === true &&
        entry.ARN.length === reference.length + ARN_SUFFIX_LENGTH),
  );
}

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
