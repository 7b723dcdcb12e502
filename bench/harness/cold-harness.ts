import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installLambdaStreamingShim } from '../../local/lambda-streaming-shim.ts';
import { invoke, lambdaContext } from './lambda-shim.ts';

/**
 * One cold start: a fresh process loads the function's `index.mjs` and serves one invocation,
 * then reports its timings on file descriptor 3 (stdout stays the function's log stream).
 * The same harness runs the baseline and the gateway's functions.
 *
 * env: BENCH_TASK_ROOT (the asset directory), BENCH_EVENT (the invocation event as JSON).
 */
const started = performance.now();
installLambdaStreamingShim();
const root = process.env.BENCH_TASK_ROOT ?? process.cwd();
const event: unknown = JSON.parse(process.env.BENCH_EVENT ?? '{}');
const module = (await import(pathToFileURL(join(root, 'index.mjs')).href)) as { handler?: unknown };
const loaded = performance.now();
const outcome = await invoke(module.handler, event, lambdaContext('cold-0001', 30_000));
const answered = performance.now();
writeSync(
  3,
  `${JSON.stringify({
    timeOrigin: performance.timeOrigin,
    started,
    loaded,
    answered,
    statusCode: outcome.statusCode,
    bytes: outcome.bytes,
  })}\n`,
);
process.exit(0);
