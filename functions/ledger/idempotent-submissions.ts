import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { logger } from '../observability/logger.ts';
import { crypto } from '../runtime/builtins.ts';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
} from './idempotency-errors.ts';
import { LedgerUnavailableError } from './job-ledger.ts';
import { IDEMPOTENCY_KEY_PREFIX, LEDGER_TABLE } from './ledger-table.ts';

/**
 * `Idempotency-Key` on `run` and `runsync` (IETF httpapi idempotency-key draft): the same
 * consumer sending the same key with the same request within 24 h gets the first answer again
 * instead of a second paid job. Built on Powertools for AWS Lambda's idempotency utility,
 * wrapped around the submission itself (`makeIdempotent`): its middy middleware cannot store a
 * streamed response (runsync's), and it is loaded only when a request carries the header, so
 * other requests pay nothing for it at cold start.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Stripe's name for it; the draft names none. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** How long a key is remembered (the draft suggests at least 24 h). */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;
/** Answers up to this size are stored whole; a larger runsync output is read again from RunPod. */
const MAX_STORED_ANSWER_BYTES = 300_000;

/** Up to 255 visible ASCII characters (a structured-field string, quoted or not). */
const KEY_TEXT = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/** The client's key from the header, or undefined when none was sent. */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let key = header.trim();
  // RFC 8941 sf-string form, as the draft writes it: `Idempotency-Key: "8e03978e-…"`.
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (!KEY_TEXT.test(key) || key.includes('"') || key.includes('\\')) {
    throw new InvalidIdempotencyKeyError(
      `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 visible ASCII characters (for example a UUID)`,
    );
  }
  return key;
}

/** What is kept of a first answer: its body, or only the job id when the body is too large. */
export type StoredSubmission = { readonly text: string } | { readonly jobId: string };

export function storedSubmissionOf(text: string, jobId: unknown): StoredSubmission {
  if (Buffer.byteLength(text) <= MAX_STORED_ANSWER_BYTES || typeof jobId !== 'string') {
    return { text };
  }
  return { jobId };
}

export interface IdempotentSubmission {
  /** The consumer key's id: keys are scoped per consumer. */
  readonly consumerKeyId: string;
  readonly clientKey: string;
  /** Whatever makes two requests the same: surface, endpoint, query and body. */
  readonly request: readonly string[];
  readonly context: Context;
  readonly submit: () => Promise<StoredSubmission>;
}

/** One call through the wrapper: what it submits, and what became of it. */
interface SubmissionCall {
  readonly submit: () => Promise<StoredSubmission>;
  ran: boolean;
  result?: StoredSubmission;
}

type Wrapped = (
  data: { key: string; fingerprint: string },
  call: SubmissionCall,
) => Promise<StoredSubmission>;

type Powertools = typeof import('@aws-lambda-powertools/idempotency');

export class IdempotentSubmissions {
  readonly #operation: 'run' | 'runsync';
  readonly #tableName: string;
  readonly #client: () => Promise<DynamoDBClient>;
  #wrapped:
    | Promise<{ wrapped: Wrapped; config: InstanceType<Powertools['IdempotencyConfig']> }>
    | undefined;

  constructor(options: {
    operation: 'run' | 'runsync';
    tableName: string;
    client: () => Promise<DynamoDBClient>;
  }) {
    this.#operation = options.operation;
    this.#tableName = options.tableName;
    this.#client = options.client;
  }

  /** The client's key from the `Idempotency-Key` header, checked; undefined when none was sent. */
  keyOf(header: string | undefined): string | undefined {
    return idempotencyKeyOf(header);
  }

  /** What to keep of a first answer. */
  storedOf(answer: {
    readonly text: string;
    readonly json: Record<string, unknown>;
  }): StoredSubmission {
    return storedSubmissionOf(answer.text, answer.json.id);
  }

  /** Runs the submission once per key; `replayed` when the answer is the first request's. */
  async submit(
    submission: IdempotentSubmission,
  ): Promise<{ stored: StoredSubmission; replayed: boolean }> {
    const { wrapped, config } = await this.#load();
    config.registerLambdaContext(submission.context);
    const data = {
      key: `${submission.consumerKeyId}\n${submission.clientKey}`,
      fingerprint: crypto.hash('sha256', JSON.stringify(submission.request), 'hex'),
    };
    const call: SubmissionCall = { submit: submission.submit, ran: false };
    try {
      const stored = await wrapped(data, call);
      return { stored, replayed: !call.ran };
    } catch (error) {
      // The job was submitted and recorded, but its answer could not be stored: the caller gets
      // it anyway (a retry after the in-progress record expires could submit again; logged).
      if (call.result !== undefined) {
        logger.warn('idempotency record not completed; answered anyway', {
          error: error instanceof Error ? error : String(error),
        });
        return { stored: call.result, replayed: false };
      }
      throw call.ran ? error : domainErrorOf(error);
    }
  }

  #load(): Promise<{ wrapped: Wrapped; config: InstanceType<Powertools['IdempotencyConfig']> }> {
    this.#wrapped ??= (async () => {
      const [{ makeIdempotent, IdempotencyConfig }, { DynamoDBPersistenceLayer }, client] =
        await Promise.all([
          import('@aws-lambda-powertools/idempotency'),
          import('@aws-lambda-powertools/idempotency/dynamodb'),
          this.#client(),
        ]);
      const config = new IdempotencyConfig({
        eventKeyJmesPath: 'key',
        payloadValidationJmesPath: 'fingerprint',
        expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
        throwOnNoIdempotencyKey: true,
      });
      const wrapped = makeIdempotent(
        async (_data: { key: string; fingerprint: string }, call: SubmissionCall) => {
          call.ran = true;
          // A failed submission throws, so Powertools deletes the in-progress record and the
          // client may try again; a returned error would be replayed.
          call.result = await call.submit();
          return call.result;
        },
        {
          persistenceStore: new DynamoDBPersistenceLayer({
            tableName: this.#tableName,
            keyAttr: LEDGER_TABLE.partitionKey,
            // The table's TTL attribute: records leave with the idempotency window.
            expiryAttr: LEDGER_TABLE.timeToLive,
            awsSdkV3Client: client,
          }),
          config,
          keyPrefix: `${IDEMPOTENCY_KEY_PREFIX}${this.#operation}`,
          dataIndexArgument: 0,
        },
      ) as Wrapped;
      return { wrapped, config };
    })();
    return this.#wrapped;
  }
}

function domainErrorOf(error: unknown): Error {
  const name = error instanceof Error ? error.name : '';
  if (name === 'IdempotencyAlreadyInProgressError') {
    return new IdempotencyInProgressError('The first request with this key is still running', {
      cause: error,
    });
  }
  if (name === 'IdempotencyValidationError') {
    return new IdempotencyKeyReusedError('This key was used with another request', {
      cause: error,
    });
  }
  return new LedgerUnavailableError('The idempotency store is unavailable', { cause: error });
}
