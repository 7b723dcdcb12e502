import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import {
  type BundleHarness,
  type StartedBundle,
  simulatorCall,
  startBundleHarness,
  waitForJobStatus,
} from '../helpers/lambda/bundle-harness.ts';

const ENDPOINT = 'chatendpoint01';

/**
 * The scheduled sweep's bundle, as `cdk synth` produced it, under the real Lambda runtime
 * interface client, invoked with the event an EventBridge schedule sends.
 */
describe('the sweep bundle under aws-lambda-ric', () => {
  let harness: BundleHarness;
  let sweep: StartedBundle;

  beforeAll(async () => {
    harness = await startBundleHarness();
    sweep = await harness.startSweep({ environmentOverrides: { SWEEP_MIN_AGE_MS: '0' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('records the end of a job nobody polled, and answers what it did', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { durationMs: 50, queueMs: 0 } },
    });
    await harness.own(String(id));
    const ended = await waitForJobStatus(harness.simulator, ENDPOINT, String(id), ['COMPLETED']);

    const result = await sweep.process.invoke({
      version: '0',
      id: 'c0ffee00-0000-4000-8000-000000000002',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/sweep'],
      detail: {},
    });
    const job = await new DynamoDbJobLedger(harness.ledger).find(String(id));

    expect(sweep.fn.timeoutSeconds).toBe(300);
    if (result.kind !== 'buffered') throw new Error(`not buffered: ${JSON.stringify(result)}`);
    expect(result.payload).toMatchObject({ ended: 1, failed: 0, truncated: false });
    expect(job?.outcome).toMatchObject({
      status: 'COMPLETED',
      executionTime: ended.executionTime,
    });
    expect(sweep.process.output()).toContain('"message":"job sweep completed"');
  });
});
