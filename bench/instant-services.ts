import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  JOB_ID as BENCH_JOB_ID,
  benchCredentials,
  ENDPOINT_ID,
  RUNPOD_API_KEY,
  SURFACE,
} from './events.ts';
import { epochNow } from './processes.ts';
import { KEY_STORE_SECRET_ARN, RUNPOD_KEY_SECRET_ARN } from './synth.ts';

/**
 * The loopback services cold-start and warm-overhead runs talk to, answering at once:
 * a RunPod-shaped upstream (canned answers, no job engine) and a Secrets-Manager-compatible
 * `GetSecretValue` endpoint (AWS JSON 1.1, what `AWS_ENDPOINT_URL_SECRETS_MANAGER` points at).
 */
export interface InstantService {
  readonly url: string;
  /** Requests served so far. */
  readonly requests: () => number;
  /** Arrival times (epoch ms) of the requests received between `from` and `to`. */
  arrivalsBetween(from: number, to: number): number[];
  close(): Promise<void>;
}

/** Keeps the arrival time of the last requests, for cold-start timelines. */
class Arrivals {
  readonly #times: number[] = [];
  record(): void {
    this.#times.push(epochNow());
    if (this.#times.length > 1000) this.#times.splice(0, 500);
  }
  between(from: number, to: number): number[] {
    return this.#times.filter((time) => time >= from && time <= to);
  }
}

const JOB_ID = 'bench-job-0001-u1';

/** Each RunPod operation's answer, by the path segment after the endpoint id. */
const ANSWERS: Readonly<Record<string, string>> = {
  run: JSON.stringify({ id: JOB_ID, status: 'IN_QUEUE' }),
  runsync: JSON.stringify({
    id: JOB_ID,
    status: 'COMPLETED',
    delayTime: 12,
    executionTime: 34,
    output: { text: 'hello' },
  }),
  status: JSON.stringify({
    id: JOB_ID,
    status: 'COMPLETED',
    delayTime: 12,
    executionTime: 34,
    output: { text: 'hello' },
  }),
  'status-sync': JSON.stringify({
    id: JOB_ID,
    status: 'COMPLETED',
    delayTime: 12,
    executionTime: 34,
    output: { text: 'hello' },
  }),
  stream: JSON.stringify({ status: 'COMPLETED', stream: [{ output: { text: 'hello' } }] }),
  cancel: JSON.stringify({ id: JOB_ID, status: 'CANCELLED' }),
  retry: JSON.stringify({ id: JOB_ID, status: 'IN_QUEUE' }),
  'purge-queue': JSON.stringify({ removed: 0, status: 'completed' }),
  health: JSON.stringify({
    jobs: { completed: 1, failed: 0, inProgress: 0, inQueue: 0, retried: 0 },
    workers: { idle: 2, initializing: 0, ready: 2, running: 0, throttled: 0, unhealthy: 0 },
  }),
  // A vLLM worker's OpenAI-compatible answers, by the path below `openai/v1/`.
  'openai/v1/chat/completions': JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_733_000_000,
    model: 'bench-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Latency, hidden cost.' },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 },
  }),
  'openai/v1/completions': JSON.stringify({
    id: 'cmpl-bench',
    object: 'text_completion',
    created: 1_733_000_000,
    model: 'bench-model',
    choices: [{ index: 0, text: ' a tax.', logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
  }),
  'openai/v1/embeddings': JSON.stringify({
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3, 0.4] }],
    model: 'bench-model',
    usage: { prompt_tokens: 1, total_tokens: 1 },
  }),
  'openai/v1/models': JSON.stringify({
    object: 'list',
    data: [{ id: 'bench-model', object: 'model', created: 1_733_000_000, owned_by: 'vllm' }],
  }),
};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function drain(request: IncomingMessage, then: (body: string) => void): void {
  const parts: Buffer[] = [];
  request.on('data', (part: Buffer) => parts.push(part));
  request.once('end', () => then(Buffer.concat(parts).toString('utf8')));
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** `GET|POST /v2/{endpointId}/{operation}[/{jobId}]` → the operation's canned answer. */
export async function startInstantUpstream(
  overrides: Readonly<Record<string, string>> = {},
): Promise<InstantService> {
  const answers = { ...ANSWERS, ...overrides };
  let count = 0;
  const arrivals = new Arrivals();
  const server = createServer((request, response) => {
    count++;
    arrivals.record();
    drain(request, () => {
      const parts = (request.url ?? '').split('?')[0]?.split('/') ?? [];
      const operation = parts[3] === 'openai' ? parts.slice(3).join('/') : (parts[3] ?? '');
      const answer = answers[operation];
      if (answer === undefined) reply(response, 404, 'application/json', '{"error":"not found"}');
      else reply(response, 200, 'application/json', answer);
    });
  });
  const origin = await listen(server);
  return {
    url: `${origin}/v2`,
    requests: () => count,
    arrivalsBetween: (from, to) => arrivals.between(from, to),
    close: () => closeServer(server),
  };
}

const AWS_JSON = 'application/x-amz-json-1.1';

/**
 * Serves `GetSecretValue` and `BatchGetSecretValue` for the given secrets (by complete ARN); no
 * signature check.
 */
export async function startInstantSecretsManager(
  secrets: Readonly<Record<string, string>>,
): Promise<InstantService> {
  let count = 0;
  const arrivals = new Arrivals();
  const entryOf = (secretId: string) => ({
    ARN: secretId,
    Name: secretId.split(':').at(-1),
    SecretString: secrets[secretId],
    VersionId: '00000000-0000-4000-8000-000000000000',
    VersionStages: ['AWSCURRENT'],
    CreatedDate: 1_700_000_000,
  });
  const server = createServer((request, response) => {
    count++;
    arrivals.record();
    drain(request, (text) => {
      let input: { SecretId?: unknown; SecretIdList?: unknown } = {};
      try {
        input = JSON.parse(text) as typeof input;
      } catch {
        // answered as an unknown secret below
      }
      const target = request.headers['x-amz-target'];
      const known = (id: unknown): id is string => typeof id === 'string' && id in secrets;
      if (target === 'secretsmanager.GetSecretValue' && known(input.SecretId)) {
        reply(response, 200, AWS_JSON, JSON.stringify(entryOf(input.SecretId)));
      } else if (
        target === 'secretsmanager.BatchGetSecretValue' &&
        Array.isArray(input.SecretIdList) &&
        input.SecretIdList.every(known)
      ) {
        reply(
          response,
          200,
          AWS_JSON,
          JSON.stringify({ SecretValues: input.SecretIdList.map(entryOf), Errors: [] }),
        );
      } else {
        reply(
          response,
          400,
          AWS_JSON,
          JSON.stringify({
            __type: 'ResourceNotFoundException',
            message: "Secrets Manager can't find the specified secret.",
          }),
        );
      }
    });
  });
  const url = await listen(server);
  return {
    url,
    requests: () => count,
    arrivalsBetween: (from, to) => arrivals.between(from, to),
    close: () => closeServer(server),
  };
}

/** The job ledger's table as the functions see it: `GATEWAY_TABLE`; the floor reads `FLOOR_TABLE`. */
export const LEDGER_TABLES = { gateway: 'bench-ledger', floor: 'bench-floor' } as const;

export interface InstantDynamoDb extends InstantService {
  /** Calls so far to one table, by operation (`GetItem`, `PutItem`, …). */
  calls(table: string): Readonly<Record<string, number>>;
}

const DYNAMODB_JSON = 'application/x-amz-json-1.0';

/**
 * A DynamoDB-compatible endpoint answering at once, like the instant upstream: `GetItem` of the
 * bench's job finds it (owned by the bench's key, on the `chat` surface, its outcome already
 * recorded, as for every poll after the first), any other key nothing; writes succeed. It counts
 * each table's calls, so the bench shows how many ledger calls an operation makes.
 */
export async function startInstantDynamoDb(): Promise<InstantDynamoDb> {
  let count = 0;
  const arrivals = new Arrivals();
  const byTable = new Map<string, Record<string, number>>();
  const jobItem = {
    pk: { S: `job#${BENCH_JOB_ID}` },
    jobId: { S: BENCH_JOB_ID },
    ownerKeyId: { S: 'bench' },
    surface: { S: SURFACE },
    endpointId: { S: ENDPOINT_ID },
    createdAt: { N: '1700000000000' },
    expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
    status: { S: 'COMPLETED' },
    executionTime: { N: '34' },
    delayTime: { N: '12' },
    endedAt: { N: '1700000001000' },
  };
  const server = createServer((request, response) => {
    count++;
    arrivals.record();
    drain(request, (text) => {
      const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let input: { TableName?: unknown; Key?: { pk?: { S?: unknown } } } = {};
      try {
        input = JSON.parse(text) as typeof input;
      } catch {
        // counted under an unnamed table
      }
      const table = String(input.TableName ?? '');
      const calls = byTable.get(table) ?? {};
      calls[operation] = (calls[operation] ?? 0) + 1;
      byTable.set(table, calls);
      const found = operation === 'GetItem' && input.Key?.pk?.S === jobItem.pk.S;
      // A per-key rate counter's update is accepted: its new TAT is now.
      const rateUpdate =
        operation === 'UpdateItem' && String(input.Key?.pk?.S ?? '').startsWith('rate#');
      reply(
        response,
        200,
        DYNAMODB_JSON,
        found
          ? JSON.stringify({ Item: jobItem })
          : rateUpdate
            ? JSON.stringify({ Attributes: { tat: { N: String(Date.now()) } } })
            : '{}',
      );
    });
  });
  const url = await listen(server);
  return {
    url,
    requests: () => count,
    arrivalsBetween: (from, to) => arrivals.between(from, to),
    calls: (table) => ({ ...byTable.get(table) }),
    close: () => closeServer(server),
  };
}

/** The services as the Lambda sections use them: Secrets Manager holds a key store admitting `token`. */
export interface BenchServices {
  /** The consumer token the key store admits. */
  readonly token: string;
  /** Another one, whose key has a request rate for every operation. */
  readonly limitedToken: string;
  readonly upstream: InstantService;
  readonly secretsManager: InstantService;
  /** Holds the job ledger's table (and the floor's). */
  readonly dynamoDb: InstantDynamoDb;
  close(): Promise<void>;
}

export async function startBenchServices(
  options: {
    /** Other answers than the canned ones, by operation (e.g. a 20 MB `status`). */
    readonly upstreamAnswers?: Readonly<Record<string, string>>;
  } = {},
): Promise<BenchServices> {
  const credentials = benchCredentials();
  const upstream = await startInstantUpstream(options.upstreamAnswers);
  const dynamoDb = await startInstantDynamoDb();
  const secretsManager = await startInstantSecretsManager({
    [KEY_STORE_SECRET_ARN]: credentials.keyStore,
    [RUNPOD_KEY_SECRET_ARN]: RUNPOD_API_KEY,
  });
  return {
    token: credentials.token,
    limitedToken: credentials.limitedToken,
    upstream,
    secretsManager,
    dynamoDb,
    close: async () => {
      await upstream.close();
      await secretsManager.close();
      await dynamoDb.close();
    },
  };
}
