import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltHarness } from './build-harness.ts';
import { eventOf } from './events.ts';
import { startBenchServices } from './instant-services.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import { logFileOf, NODE, OUT_DIR, tailOf } from './processes.ts';
import { median, round } from './stats.ts';
import type { Synthesis } from './synth.ts';

/**
 * What a body within the limit costs the `run` function: a plain 5 MiB body (one long string in
 * `input`) against the worst-shaped one (as many keys in `input` as fit), each invoked once in a
 * fresh warm process, alternating. CPU time of the invocation and the process's peak RSS.
 */
export interface BodyCost {
  readonly bytes: number;
  readonly cpuMs: number;
  readonly peakRssMb: number;
}

export interface BodiesResult {
  readonly repetitions: number;
  /** The function's memory, MB: what the peak RSS must stay under. */
  readonly memoryMb: number;
  readonly plain: BodyCost;
  readonly manyKeys: BodyCost & { readonly keys: number };
}

/** The request body limit the functions are deployed with (5 MiB). */
const LIMIT = 5 * 1024 * 1024;

function plainBody(): string {
  const envelope = '{"input":{"text":""}}';
  return `{"input":{"text":"${'x'.repeat(LIMIT - envelope.length)}"}}`;
}

/** As many distinct keys in `input` as fit in the limit: the shape that costs most to copy. */
function manyKeysBody(): { text: string; keys: number } {
  const parts: string[] = [];
  let size = '{"input":{}}'.length;
  for (let index = 0; ; index++) {
    const part = `"${index.toString(36)}":1`;
    if (size + part.length + 1 > LIMIT) break;
    parts.push(part);
    size += part.length + 1;
  }
  return { text: `{"input":{${parts.join(',')}}}`, keys: parts.length };
}

export async function measureBodies(options: {
  readonly synthesis: Synthesis;
  readonly harness: BuiltHarness;
  readonly repetitions: number;
  readonly log: (line: string) => void;
}): Promise<BodiesResult> {
  const fn = options.synthesis.functions.run;
  const services = await startBenchServices();
  const plain = plainBody();
  const manyKeys = manyKeysBody();
  const eventWith = (body: string) => ({ ...eventOf('run', services.token), body });
  const env = {
    ...lambdaEnvironment({
      functionName: 'bench-run',
      taskRoot: fn.assetDir,
      memorySize: fn.memorySize,
      templateEnvironment: fn.environment,
      upstreamBaseUrl: services.upstream.url,
      secretsManagerUrl: services.secretsManager.url,
      dynamoDbUrl: services.dynamoDb.url,
    }),
    BENCH_TASK_ROOT: fn.assetDir,
    BENCH_WARM_EVENT: JSON.stringify(eventOf('run', services.token)),
  };
  const runs = { plain: [] as BodyCost[], manyKeys: [] as BodyCost[] };
  try {
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      const order =
        repetition % 2 === 0 ? (['plain', 'manyKeys'] as const) : (['manyKeys', 'plain'] as const);
      for (const shape of order) {
        const text = shape === 'plain' ? plain : manyKeys.text;
        const eventFile = join(OUT_DIR, `body-${shape}-event.json`);
        await writeFile(eventFile, JSON.stringify(eventWith(text)));
        const cost = await runBodyHarness(
          options.harness.bodyHarness,
          fn.assetDir,
          { ...env, BENCH_EVENT_FILE: eventFile },
          `body-${shape}`,
        );
        runs[shape].push({ bytes: Buffer.byteLength(text), ...cost });
      }
    }
  } finally {
    await services.close();
  }
  const medianOf = (costs: readonly BodyCost[]): BodyCost => ({
    bytes: costs[0]?.bytes ?? 0,
    cpuMs: round(median(costs.map((cost) => cost.cpuMs)), 1),
    peakRssMb: round(median(costs.map((cost) => cost.peakRssMb)), 1),
  });
  const result: BodiesResult = {
    repetitions: options.repetitions,
    memoryMb: fn.memorySize,
    plain: medianOf(runs.plain),
    manyKeys: { ...medianOf(runs.manyKeys), keys: manyKeys.keys },
  };
  options.log(
    `  bodies: plain ${result.plain.cpuMs} ms CPU, ${result.plain.peakRssMb} MB peak; ${manyKeys.keys} keys ${result.manyKeys.cpuMs} ms CPU, ${result.manyKeys.peakRssMb} MB peak`,
  );
  return result;
}

function runBodyHarness(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  name: string,
): Promise<{ cpuMs: number; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const logFile = logFileOf(name);
    const log = openSync(logFile, 'w');
    const child = spawn(NODE, [script], { cwd, env, stdio: ['ignore', log, log, 'pipe'] });
    closeSync(log);
    let report = '';
    child.stdio[3]?.on('data', (part: Buffer) => {
      report += part.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || report === '') {
        reject(new Error(`${name} failed (exit ${code}):\n${tailOf(logFile)}`));
        return;
      }
      const measured = JSON.parse(report) as {
        statusCode: number;
        cpuMs: number;
        peakRssMb: number;
      };
      if (measured.statusCode !== 200) {
        reject(
          new Error(`${name}: the function answered ${measured.statusCode}:\n${tailOf(logFile)}`),
        );
        return;
      }
      resolve({ cpuMs: measured.cpuMs, peakRssMb: measured.peakRssMb });
    });
  });
}
