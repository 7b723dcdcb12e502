import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  type KeyChange,
  type KeyDocument,
  type KeyDocumentStore,
  keyDocumentOf,
  keyDocumentText,
} from './key-document-store.ts';

/** The label a written version waits under until it is made current (not AWSPENDING: rotation's). */
const STAGED_LABEL = 'KEYS_CLI_STAGED';
const MAX_ATTEMPTS = 10;

/**
 * The deployed key store, a Secrets Manager secret, changed with optimistic concurrency: the new
 * text is written as a version that is not current yet, then made current by moving AWSCURRENT
 * from the version the change was read from — a move Secrets Manager refuses when AWSCURRENT has
 * moved on (`RemoveFromVersionId` no longer matches). The loser reads the new current version and
 * applies its change again, so two operators never lose each other's change. The functions see
 * the change when their cached copy expires (`SECRETS_MAX_AGE_MS`).
 */
export class SecretKeyStore implements KeyDocumentStore {
  readonly name: string;
  readonly #client: SecretsManagerClient;

  constructor(secretId: string, client = new SecretsManagerClient({})) {
    this.name = secretId;
    this.#client = client;
  }

  async read(): Promise<KeyDocument> {
    return keyDocumentOf((await this.#current()).text);
  }

  async change<T>(apply: (document: KeyDocument) => KeyChange<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#current();
      const { entries, result } = apply(keyDocumentOf(current.text));
      if (entries === undefined) return result;
      const versionId = randomUUID();
      await this.#client.send(
        new PutSecretValueCommand({
          SecretId: this.name,
          SecretString: keyDocumentText(entries),
          ClientRequestToken: versionId,
          VersionStages: [STAGED_LABEL],
        }),
      );
      try {
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: this.name,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            RemoveFromVersionId: current.versionId,
          }),
        );
        return result;
      } catch (error) {
        // Only a lost race is retried: anything else (no permission, no secret) is the answer.
        const now = await this.#current();
        if (now.versionId === current.versionId) throw error;
        if (attempt >= MAX_ATTEMPTS) {
          throw new Error(
            `${this.name} changed ${attempt} times while this change was being made; try again`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
  }

  async #current(): Promise<{ text: string | undefined; versionId: string }> {
    const answer = await this.#client.send(new GetSecretValueCommand({ SecretId: this.name }));
    if (answer.VersionId === undefined) {
      throw new Error(`Secrets Manager returned ${this.name} without a version id`);
    }
    return { text: answer.SecretString, versionId: answer.VersionId };
  }
}
