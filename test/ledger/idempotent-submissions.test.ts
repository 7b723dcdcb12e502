import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
} from '../../functions/ledger/idempotency-errors.ts';
import {
  IdempotentSubmissions,
  type StoredSubmission,
} from '../../functions/ledger/idempotent-submissions.ts';
import { LEDGER_ENGINES, startEngineWithTable } from '../helpers/ledger-engines.ts';

/**
 * Powertools' idempotency records in the ledger table, on both engines: dynalite ignores
 * `ReturnValuesOnConditionCheckFailure`, which Powertools asks for on a conflict, and DynamoDB
 * Local honours it.
 */
const TABLE = 'idempotency-test';

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'run',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:run',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/run',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 28_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe.each(LEDGER_ENGINES)('idempotent submissions on $name', ({ start }) => {
  let engine: { endpoint: string; close(): Promise<void> };
  let client: DynamoDBClient;
  let submissions: IdempotentSubmissions;

  beforeAll(async () => {
    engine = await startEngineWithTable(start, TABLE);
    client = new DynamoDBClient({ endpoint: engine.endpoint });
    submissions = new IdempotentSubmissions({
      operation: 'run',
      tableName: TABLE,
      client: async () => client,
    });
  }, 120_000);
  afterAll(async () => {
    client?.destroy();
    await engine?.close();
  });

  function submitOnce(clientKey: string, body: string, submit: () => Promise<StoredSubmission>) {
    return submissions.submit({
      consumerKeyId: 'team-a',
      clientKey,
      request: ['chat', 'chatendpoint01', '{}', body],
      context: lambdaContext(),
      submit,
    });
  }

  it('runs a submission once and replays its answer', async () => {
    const key = randomUUID();
    let runs = 0;
    const submit = async () => ({ text: `{"id":"job-${++runs}","status":"IN_QUEUE"}` });

    const first = await submitOnce(key, '{"input":{}}', submit);
    const second = await submitOnce(key, '{"input":{}}', submit);

    expect(first).toEqual({
      stored: { text: '{"id":"job-1","status":"IN_QUEUE"}' },
      replayed: false,
    });
    expect(second).toEqual({ stored: first.stored, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the key with another request', async () => {
    const key = randomUUID();
    await submitOnce(key, '{"input":{"n":1}}', async () => ({ text: '{}' }));

    await expect(
      submitOnce(key, '{"input":{"n":2}}', async () => ({ text: '{}' })),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('refuses the key while the first request is in flight', async () => {
    const key = randomUUID();
    let finish: (value: StoredSubmission) => void = () => undefined;
    const first = submitOnce(
      key,
      '{}',
      () =>
        new Promise<StoredSubmission>((resolve) => {
          finish = resolve;
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    await expect(submitOnce(key, '{}', async () => ({ text: '{}' }))).rejects.toBeInstanceOf(
      IdempotencyInProgressError,
    );
    finish({ text: '{"id":"slow"}' });
    expect((await first).stored).toEqual({ text: '{"id":"slow"}' });
  });

  it('forgets a submission that failed, so it can be sent again', async () => {
    const key = randomUUID();

    await expect(
      submitOnce(key, '{}', async () => {
        throw new Error('RunPod said no');
      }),
    ).rejects.toThrow('RunPod said no');
    const again = await submitOnce(key, '{}', async () => ({ text: '{"id":"second"}' }));

    expect(again).toEqual({ stored: { text: '{"id":"second"}' }, replayed: false });
  });
});
