import { randomUUID } from 'node:crypto';
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import { expiryOf, type JobRecord } from '../../functions/ledger/job-ledger.ts';
import { LEDGER_TABLE } from '../../functions/ledger/ledger-table.ts';
import { ensureLedgerTable, useLocalAwsDefaults } from '../../local/ledger-engine.ts';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { LEDGER_ENGINES, startEngineWithTable } from '../helpers/ledger-engines.ts';

/**
 * The ledger's store on both engines it meets: the embedded one `npm start` runs (dynalite) and
 * AWS's own DynamoDB Local, which implements what dynalite ignores (TTL settings).
 */
const TABLE = 'ledger-test';

function jobOf(overrides: Partial<JobRecord> = {}): JobRecord {
  const now = Date.now();
  return {
    jobId: `${randomUUID()}-u1`,
    ownerKeyId: 'team-a',
    surface: 'chat',
    model: 'llama-3-8b',
    endpointId: 'llama3endpoint01',
    createdAt: now,
    expiresAt: expiryOf(now, 'run', undefined),
    ...overrides,
  };
}

describe.each(LEDGER_ENGINES)('the job ledger on $name', ({ start }) => {
  let engine: { endpoint: string; close(): Promise<void> };
  let ledger: DynamoDbJobLedger;

  beforeAll(async () => {
    engine = await startEngineWithTable(start, TABLE);
    ledger = new DynamoDbJobLedger({ tableName: TABLE, endpoint: engine.endpoint });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  it('finds a recorded job with its owner, surface, model and endpoint', async () => {
    const job = jobOf();

    await ledger.record(job);

    expect(await ledger.find(job.jobId)).toEqual({ ...job, outcome: undefined });
  });

  it('keeps the first record when a job id is recorded twice', async () => {
    const job = jobOf();
    await ledger.record(job);

    await ledger.record({ ...job, ownerKeyId: 'intruder' });

    expect((await ledger.find(job.jobId))?.ownerKeyId).toBe('team-a');
  });

  it('finds nothing for an unknown job', async () => {
    expect(await ledger.find(`${randomUUID()}-u1`)).toBeUndefined();
  });

  it('treats a record past its expiry as gone, whether or not the engine deleted it', async () => {
    const job = jobOf({ expiresAt: Math.floor(Date.now() / 1000) - 1 });
    await ledger.record(job);

    expect(await ledger.find(job.jobId)).toBeUndefined();
  });

  it('keeps a record for usage past RunPod\u2019s horizon, where follow-ups no longer find it', async () => {
    const keeping = new DynamoDbJobLedger({
      tableName: TABLE,
      endpoint: engine.endpoint,
      usageRetentionDays: 400,
    });
    const forgotten = jobOf({ expiresAt: Math.floor(Date.now() / 1000) - 1 });
    await keeping.record(forgotten);
    const { client, sdk } = await keeping.access();

    const { Item } = await client.send(
      new sdk.GetItemCommand({
        TableName: TABLE,
        Key: { [LEDGER_TABLE.partitionKey]: { S: `job#${forgotten.jobId}` } },
      }),
    );

    expect(await keeping.find(forgotten.jobId)).toBeUndefined();
    expect(await keeping.find(forgotten.jobId, { includeForgotten: true })).toMatchObject({
      jobId: forgotten.jobId,
      expiresAt: forgotten.expiresAt,
    });
    const keptForDays =
      (Number(Item?.[LEDGER_TABLE.timeToLive]?.N) - forgotten.createdAt / 1000) / 86_400;
    expect(Math.round(keptForDays)).toBe(400);
  });

  it('records a job\u2019s outcome once, and records nothing for an unknown job', async () => {
    const job = jobOf();
    await ledger.record(job);

    const first = await ledger.recordOutcome(job.jobId, {
      status: 'COMPLETED',
      executionTime: 1502,
      delayTime: 50,
      endedAt: 1_700_000_000_000,
    });
    const second = await ledger.recordOutcome(job.jobId, {
      status: 'FAILED',
      endedAt: 1_700_000_001_000,
    });
    const unknown = await ledger.recordOutcome(`${randomUUID()}-u1`, {
      status: 'COMPLETED',
      endedAt: 1,
    });

    expect({ first, second, unknown }).toEqual({ first: true, second: false, unknown: false });
    expect((await ledger.find(job.jobId))?.outcome).toEqual({
      status: 'COMPLETED',
      executionTime: 1502,
      delayTime: 50,
      endedAt: 1_700_000_000_000,
    });
  });

  it('records a rerun\u2019s end over the recorded one, only if that is still the one recorded', async () => {
    const job = jobOf();
    await ledger.record(job);
    const failed = { status: 'FAILED', executionTime: 40, endedAt: 1 };
    await ledger.recordOutcome(job.jobId, failed);

    const rerun = await ledger.recordOutcome(
      job.jobId,
      { status: 'COMPLETED', executionTime: 90, endedAt: 2 },
      failed,
    );
    const stale = await ledger.recordOutcome(
      job.jobId,
      { status: 'COMPLETED', executionTime: 91, endedAt: 3 },
      failed,
    );

    expect({ rerun, stale }).toEqual({ rerun: true, stale: false });
    expect((await ledger.find(job.jobId))?.outcome).toEqual({
      status: 'COMPLETED',
      executionTime: 90,
      delayTime: undefined,
      endedAt: 2,
    });
  });
});

describe('the ledger table on DynamoDB Local', () => {
  it('has time to live on the expiry attribute, as the construct sets it', async () => {
    useLocalAwsDefaults();
    const engine = await startDynamoDbLocal();
    try {
      await ensureLedgerTable(engine.endpoint, TABLE);
      const client = new DynamoDBClient({ endpoint: engine.endpoint });

      const { TimeToLiveDescription } = await client.send(
        new DescribeTimeToLiveCommand({ TableName: TABLE }),
      );

      expect(TimeToLiveDescription).toMatchObject({
        AttributeName: LEDGER_TABLE.timeToLive,
        TimeToLiveStatus: expect.stringMatching(/^ENABL/),
      });
      client.destroy();
    } finally {
      await engine.close();
    }
  }, 120_000);
});
