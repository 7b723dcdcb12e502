import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installLambdaStreamingShim } from '../../local/lambda-streaming-shim.ts';
import { invoke, lambdaContext } from './lambda-shim.ts';

/**
 * What one large request costs a warm function: the handler is invoked once with a small body
 * (module load and first-call set-up out of the way), then once with the event in
 * `BENCH_EVENT_FILE`, and the CPU
 * time of that invocation and the process's peak RSS are written to file descriptor 3.
 *
 * env: BENCH_TASK_ROOT, BENCH_WARM_EVENT, BENCH_EVENT_FILE.
 */
installLambdaStreamingShim();
const root = process.env.BENCH_TASK_ROOT ?? process.cwd();
const module = (await import(pathToFileURL(join(root, 'index.mjs')).href)) as { handler?: unknown };
const warmEvent = JSON.parse(process.env.BENCH_WARM_EVENT ?? '{}') as unknown;
const warm = await invoke(module.handler, warmEvent, lambdaContext('warm', 30_000));
if (warm.statusCode !== 200) throw new Error(`The warm-up invocation answered ${warm.statusCode}`);

// From a file: one environment variable holds at most 128 KiB on Linux.
const event = JSON.parse(readFileSync(process.env.BENCH_EVENT_FILE ?? '', 'utf8')) as unknown;
const before = process.cpuUsage();
const outcome = await invoke(module.handler, event, lambdaContext('measured', 30_000));
const cpu = process.cpuUsage(before);
writeSync(
  3,
  `${JSON.stringify({
    statusCode: outcome.statusCode,
    cpuMs: (cpu.user + cpu.system) / 1000,
    // resourceUsage().maxRSS is in kilobytes.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
process.exit(0);
