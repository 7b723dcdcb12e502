import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The Secrets Manager calls the functions make, `GetSecretValue` and `BatchGetSecretValue`, and
 * those the key CLI makes on the deployed store, `PutSecretValue` and `UpdateSecretVersionStage`
 * (AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: secretsmanager.<Operation>`), served
 * from memory and counted per secret. Versions carry staging labels as Secrets Manager documents
 * them: a label is on one version at a time, AWSCURRENT moves only from the version named in
 * `RemoveFromVersionId`, and AWSPREVIOUS follows it. Requests are not signature-checked. Point
 * the AWS SDK at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 *
 * @example
 * const sm = await startSecretsManager();
 * sm.putSecret('arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-keys-AbCdEf', '{"keys":[]}');
 * // … run a function with AWS_ENDPOINT_URL_SECRETS_MANAGER=sm.url
 * sm.callsOf('arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-keys-AbCdEf'); // 1
 */

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  /** Every version by id, with its staging labels. */
  readonly versions: Map<string, { value: string; stages: Set<string> }>;
  calls: number;
}

const COMPLETE_ARN =
  /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)(.+)-[A-Za-z0-9]{6}$/;

export class SecretsManagerEmulator {
  readonly #server: Server;
  readonly #secrets: StoredSecret[] = [];
  readonly #requests: string[] = [];
  readonly #denied = new Set<string>();

  constructor(server: Server) {
    this.#server = server;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        reply(response, 500, { __type: 'InternalServiceError', message: String(error) });
      });
    });
  }

  /** e.g. `http://127.0.0.1:41234`, the value of `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Stores (or rotates) a secret, named by its complete ARN (`…:secret:<name>-<6 chars>`). */
  putSecret(completeArn: string, value: string): void {
    const match = COMPLETE_ARN.exec(completeArn);
    if (!match) throw new Error(`Not a complete secret ARN: ${completeArn}`);
    let secret = this.#secrets.find((candidate) => candidate.arn === completeArn);
    if (!secret) {
      secret = { arn: completeArn, name: match[2] ?? '', versions: new Map(), calls: 0 };
      this.#secrets.push(secret);
    }
    const versionId = randomUUID();
    secret.versions.set(versionId, { value, stages: new Set() });
    moveStage(secret, 'AWSCURRENT', versionId);
  }

  /** The current value of a secret (by complete ARN). */
  valueOf(completeArn: string): string | undefined {
    const secret = this.#secrets.find((candidate) => candidate.arn === completeArn);
    return secret ? currentOf(secret)?.value : undefined;
  }

  /** How many reads (`GetSecretValue`, or one entry of a batch) returned this secret (by complete ARN). */
  callsOf(completeArn: string): number {
    return this.#secrets.find((secret) => secret.arn === completeArn)?.calls ?? 0;
  }

  /** Answers every later request for this operation (e.g. `secretsmanager.BatchGetSecretValue`) with AccessDeniedException, as for a role without the permission. */
  deny(target: string): void {
    this.#denied.add(target);
  }

  /** The `X-Amz-Target` of every request received, in order. */
  get requests(): readonly string[] {
    return this.#requests;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = String(request.headers['x-amz-target'] ?? '');
    this.#requests.push(target);
    const text = await readText(request);
    if (this.#denied.has(target)) {
      return reply(response, 400, {
        __type: 'AccessDeniedException',
        message: `User is not authorized to perform: ${target.replace('.', ':')}`,
      });
    }
    let input: {
      SecretId?: unknown;
      SecretIdList?: unknown;
      SecretString?: unknown;
      ClientRequestToken?: unknown;
      VersionStages?: unknown;
      VersionStage?: unknown;
      MoveToVersionId?: unknown;
      RemoveFromVersionId?: unknown;
    };
    try {
      input = JSON.parse(text) as typeof input;
    } catch {
      return reply(response, 400, {
        __type: 'SerializationException',
        message: 'Body is not JSON',
      });
    }
    if (request.method === 'POST' && target === 'secretsmanager.GetSecretValue') {
      const secret = typeof input.SecretId === 'string' ? this.#find(input.SecretId) : undefined;
      if (!secret) return notFound(response);
      return reply(response, 200, this.#read(secret));
    }
    if (request.method === 'POST' && target === 'secretsmanager.BatchGetSecretValue') {
      const ids = Array.isArray(input.SecretIdList) ? input.SecretIdList.map(String) : [];
      const found = ids.map((id) => ({ id, secret: this.#find(id) }));
      return reply(response, 200, {
        SecretValues: found.flatMap(({ secret }) => (secret ? [this.#read(secret)] : [])),
        Errors: found
          .filter(({ secret }) => !secret)
          .map(({ id }) => ({
            SecretId: id,
            ErrorCode: 'ResourceNotFoundException',
            Message: "Secrets Manager can't find the specified secret.",
          })),
      });
    }
    const secret = typeof input.SecretId === 'string' ? this.#find(input.SecretId) : undefined;
    if (target === 'secretsmanager.PutSecretValue') {
      if (!secret) return notFound(response);
      const versionId =
        typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
      if (secret.versions.has(versionId)) {
        return reply(response, 400, {
          __type: 'ResourceExistsException',
          message: `A version with ClientRequestToken ${versionId} already exists`,
        });
      }
      const stages = Array.isArray(input.VersionStages)
        ? input.VersionStages.map(String)
        : ['AWSCURRENT'];
      secret.versions.set(versionId, { value: String(input.SecretString), stages: new Set() });
      for (const stage of stages) moveStage(secret, stage, versionId);
      return reply(response, 200, {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        VersionStages: stages,
      });
    }
    if (target === 'secretsmanager.UpdateSecretVersionStage') {
      if (!secret) return notFound(response);
      const stage = String(input.VersionStage);
      const moveTo = String(input.MoveToVersionId);
      const holder = [...secret.versions].find(([, version]) => version.stages.has(stage))?.[0];
      if (!secret.versions.has(moveTo)) return notFound(response);
      if (holder !== undefined && holder !== moveTo && holder !== input.RemoveFromVersionId) {
        return reply(response, 400, {
          __type: 'InvalidParameterException',
          message: `The staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        });
      }
      moveStage(secret, stage, moveTo);
      return reply(response, 200, { ARN: secret.arn, Name: secret.name });
    }
    return reply(response, 400, {
      __type: 'UnknownOperationException',
      message: `This emulator serves GetSecretValue, BatchGetSecretValue, PutSecretValue and UpdateSecretVersionStage, got "${target}"`,
    });
  }

  #read(secret: StoredSecret): Record<string, unknown> {
    secret.calls++;
    const [versionId, current] = [...secret.versions].find(([, version]) =>
      version.stages.has('AWSCURRENT'),
    ) ?? ['', { value: '', stages: new Set<string>() }];
    return {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: current.value,
      VersionId: versionId,
      VersionStages: [...current.stages],
      CreatedDate: Math.floor(Date.now() / 1000),
    };
  }

  /** Secrets Manager accepts the complete ARN, the partial ARN (without the suffix) or the name. */
  #find(secretId: string): StoredSecret | undefined {
    return this.#secrets.find(
      (secret) =>
        secret.arn === secretId ||
        secret.name === secretId ||
        secret.arn.slice(0, -'-AbCdEf'.length) === secretId,
    );
  }
}

export async function startSecretsManager(): Promise<SecretsManagerEmulator> {
  const server = createServer();
  const emulator = new SecretsManagerEmulator(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return emulator;
}

function readText(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.once('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(JSON.stringify(body));
}

function currentOf(secret: StoredSecret): { value: string } | undefined {
  return [...secret.versions.values()].find((version) => version.stages.has('AWSCURRENT'));
}

/** Puts a label on one version, taking it off any other; AWSCURRENT leaves AWSPREVIOUS behind. */
function moveStage(secret: StoredSecret, stage: string, versionId: string): void {
  for (const [id, version] of secret.versions) {
    if (id === versionId || !version.stages.has(stage)) continue;
    version.stages.delete(stage);
    if (stage === 'AWSCURRENT') moveStage(secret, 'AWSPREVIOUS', id);
  }
  secret.versions.get(versionId)?.stages.add(stage);
}

function notFound(response: ServerResponse): void {
  reply(response, 400, {
    __type: 'ResourceNotFoundException',
    message: "Secrets Manager can't find the specified secret.",
  });
}
