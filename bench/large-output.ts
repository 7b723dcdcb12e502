import { closeSync, openSync, readFileSync } from 'node:fs';
import { eventOf, JOB_ID } from './events.ts';
import { startBenchServices } from './instant-services.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import { logFileOf } from './processes.ts';
import { invokeOnceUnderRic } from './runtime-api.ts';
import { median, round } from './stats.ts';
import type { Synthesis } from './synth.ts';

/**
 * A large job output through `status` under the real Lambda runtime client (`aws-lambda-ric`),
 * as on Lambda: one invocation in a fresh process whose upstream answers `/status` with a job of
 * `outputBytes` of output, and the same with a small output as the same-run baseline. The
 * process's peak RSS (VmHWM) is read when the response has fully arrived at the Runtime API.
 */
export interface LargeOutputResult {
  readonly outputBytes: number;
  readonly repetitions: number;
  /** The function's memory, MB: what the peak RSS must stay under, with room. */
  readonly memoryMb: number;
  readonly small: { readonly peakRssMb: number };
  readonly large: { readonly peakRssMb: number; readonly responseBytes: number };
}

function statusAnswer(outputBytes: number): string {
  return JSON.stringify({
    id: JOB_ID,
    status: 'COMPLETED',
    delayTime: 12,
    executionTime: 34,
    output: 'x'.repeat(outputBytes),
  });
}

export async function measureLargeOutput(options: {
  readonly synthesis: Synthesis;
  readonly outputBytes: number;
  readonly repetitions: number;
  readonly log: (line: string) => void;
}): Promise<LargeOutputResult> {
  const fn = options.synthesis.functions.status;
  const runs = { small: [] as number[], large: [] as number[] };
  const responseBytes: number[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const order =
      repetition % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
    for (const size of order) {
      const measured = await invokeOnce(
        fn,
        statusAnswer(size === 'small' ? 16 : options.outputBytes),
        `large-output-${size}`,
      );
      runs[size].push(measured.peakRssMb);
      if (size === 'large') responseBytes.push(measured.bytes);
    }
  }
  const result: LargeOutputResult = {
    outputBytes: options.outputBytes,
    repetitions: options.repetitions,
    memoryMb: fn.memorySize,
    small: { peakRssMb: round(median(runs.small), 1) },
    large: {
      peakRssMb: round(median(runs.large), 1),
      responseBytes: Math.round(median(responseBytes)),
    },
  };
  options.log(
    `  large output: ${(options.outputBytes / 1e6).toFixed(0)} MB through status: peak RSS ${result.large.peakRssMb} MB (small output ${result.small.peakRssMb} MB; memory ${result.memoryMb} MB)`,
  );
  return result;
}

async function invokeOnce(
  fn: Synthesis['functions']['status'],
  answer: string,
  name: string,
): Promise<{ peakRssMb: number; bytes: number }> {
  const services = await startBenchServices({ upstreamAnswers: { status: answer } });
  const functionName = `bench-${name}`;
  const logFile = logFileOf(name);
  const log = openSync(logFile, 'w');
  try {
    const { response, measured } = await invokeOnceUnderRic({
      cwd: fn.assetDir,
      env: lambdaEnvironment({
        functionName,
        taskRoot: fn.assetDir,
        memorySize: fn.memorySize,
        templateEnvironment: fn.environment,
        upstreamBaseUrl: services.upstream.url,
        secretsManagerUrl: services.secretsManager.url,
        dynamoDbUrl: services.dynamoDb.url,
      }),
      event: eventOf('status', services.token),
      functionName,
      timeoutMs: 60_000,
      logFd: log,
      logFile,
      measure: peakRssMbOf,
    });
    return { peakRssMb: measured, bytes: response.bytes };
  } finally {
    closeSync(log);
    await services.close();
  }
}

/** The process's peak resident set so far (Linux's VmHWM), MB. */
function peakRssMbOf(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  if (!Number.isFinite(kilobytes)) throw new Error('no VmHWM in /proc/<pid>/status');
  return kilobytes / 1024;
}
