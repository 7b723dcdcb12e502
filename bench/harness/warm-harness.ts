import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { installLambdaStreamingShim } from '../../local/lambda-streaming-shim.ts';
import { invoke, lambdaContext } from './lambda-shim.ts';

/**
 * Warm invocations in one process, as in a warm execution environment: the function's handler
 * against the instant upstream, alternating in blocks (ABAB) with a baseline that makes the same
 * upstream request with `fetch` directly (after reading one DynamoDB item, as follow-up calls read
 * their job). Every invocation is timed on its own; the raw times go to file descriptor 3.
 *
 * env: BENCH_TASK_ROOT, BENCH_EVENT, BENCH_BASELINE_REQUEST ({url, method, headers, body}),
 * BENCH_WARMUP, BENCH_BLOCKS, BENCH_BLOCK_SIZE.
 */
interface BaselineRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

installLambdaStreamingShim();
const root = process.env.BENCH_TASK_ROOT ?? process.cwd();
const event = JSON.parse(process.env.BENCH_EVENT ?? '{}') as {
  requestContext: { requestId: string };
};
const upstream = JSON.parse(process.env.BENCH_BASELINE_REQUEST ?? '{}') as BaselineRequest;
const warmup = Number(process.env.BENCH_WARMUP ?? 300);
const blocks = Number(process.env.BENCH_BLOCKS ?? 8);
const blockSize = Number(process.env.BENCH_BLOCK_SIZE ?? 250);
const module = (await import(pathToFileURL(join(root, 'index.mjs')).href)) as { handler?: unknown };

let invocation = 0;
async function gateway(): Promise<void> {
  invocation++;
  const outcome = await invoke(module.handler, event, lambdaContext(`warm-${invocation}`, 30_000));
  if (outcome.statusCode !== 200) throw new Error(`The function answered ${outcome.statusCode}`);
}

/** The floor reads one item per request, as a follow-up call reads its job. */
const dynamoDb = new DynamoDBClient({});

async function baseline(): Promise<void> {
  await dynamoDb.send(
    new GetItemCommand({
      TableName: process.env.BASELINE_LEDGER_TABLE,
      Key: { pk: { S: 'job#floor' } },
      ConsistentRead: true,
    }),
  );
  const response = await fetch(upstream.url, {
    method: upstream.method,
    headers: upstream.headers,
    body: upstream.body,
  });
  await response.text();
  if (response.status !== 200) throw new Error(`The upstream answered ${response.status}`);
}

for (let index = 0; index < warmup; index++) {
  await gateway();
  await baseline();
}

const times = { baseline: [] as number[], gateway: [] as number[] };
const rates = { baseline: [] as number[], gateway: [] as number[] };
for (let block = 0; block < blocks; block++) {
  const order =
    block % 2 === 0 ? (['baseline', 'gateway'] as const) : (['gateway', 'baseline'] as const);
  for (const name of order) {
    const run = name === 'baseline' ? baseline : gateway;
    const blockStart = performance.now();
    for (let index = 0; index < blockSize; index++) {
      const start = performance.now();
      await run();
      times[name].push(performance.now() - start);
    }
    rates[name].push((blockSize * 1000) / (performance.now() - blockStart));
  }
}
writeSync(3, `${JSON.stringify({ times, rates })}\n`);
process.exit(0);
