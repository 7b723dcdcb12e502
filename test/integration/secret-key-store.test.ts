import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, setKeyDisabled } from '../../local/keys/key-changes.ts';
import { SecretKeyStore } from '../../local/keys/secret-key-store.ts';
import {
  type SecretsManagerEmulator,
  startSecretsManager,
} from '../helpers/lambda/secrets-manager-emulator.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-keys-AbCdEf';

let secretsManager: SecretsManagerEmulator;
let client: SecretsManagerClient;

beforeAll(async () => {
  secretsManager = await startSecretsManager();
  client = new SecretsManagerClient({
    endpoint: secretsManager.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  client.destroy();
  await secretsManager.close();
});

describe('the deployed key store in Secrets Manager', () => {
  it('makes a change that lost the race again on the winner, so both are kept', async () => {
    secretsManager.putSecret(ARN, JSON.stringify({ keys: [] }));
    const store = new SecretKeyStore(ARN, client);
    const before = secretsManager.requests.length;

    // Both read the same version before either writes: one move of AWSCURRENT must fail.
    await Promise.all([
      createKey(store, { id: 'first', surfaces: ['chat'] }),
      createKey(store, { id: 'second', surfaces: ['chat'] }),
    ]);

    const ids = (await store.read()).keys.map((key) => key.id).sort();
    const calls = secretsManager.requests.slice(before);
    expect(ids).toEqual(['first', 'second']);
    expect(calls.filter((call) => call.endsWith('.PutSecretValue'))).toHaveLength(3);
    expect(calls.filter((call) => call.endsWith('.UpdateSecretVersionStage'))).toHaveLength(3);
  });

  it('writes nothing when a change changes nothing, and reports errors other than a lost race', async () => {
    secretsManager.putSecret(ARN, JSON.stringify({ keys: [] }));
    const store = new SecretKeyStore(ARN, client);
    const before = secretsManager.requests.length;

    const changed = await setKeyDisabled(store, 'nobody', true);
    const missing = new SecretKeyStore(`${ARN.slice(0, -6)}ZZZZZZ`, client);

    expect(changed).toBe(0);
    expect(secretsManager.requests.slice(before)).toEqual(['secretsmanager.GetSecretValue']);
    await expect(createKey(missing, { id: 'x', surfaces: ['chat'] })).rejects.toThrow(
      /can't find the specified secret/,
    );
  });
});
