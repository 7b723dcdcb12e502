import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OPERATIONS, type Operation } from '../functions/routes.ts';
import {
  BUNDLE_SOURCES,
  runCdkSynth,
  type SynthesizedFunction as Synthesized,
  sourcesDigest,
  synthContext,
  synthesizedFunctions,
} from '../test/helpers/synthesized-gateway.ts';
import { baseEnv, OUT_DIR } from './processes.ts';

/**
 * The functions exactly as `cdk synth` builds them (NodejsFunction + esbuild), with both secrets
 * imported by complete ARN so every environment variable in the template is a literal.
 */
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const KEY_STORE_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-keys-AbCdEf`;
export const RUNPOD_KEY_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-runpod-GhIjKl`;
const STACK_NAME = 'BenchGateway';
const CONTEXT = synthContext({
  keyStoreSecretArn: KEY_STORE_SECRET_ARN,
  runpodApiKeySecretArn: RUNPOD_KEY_SECRET_ARN,
  stackName: STACK_NAME,
});
const SYNTH_DIR = join(OUT_DIR, 'cdk.out');
const DIGEST_FILE = join(OUT_DIR, 'cdk.out.digest');

export interface SynthesizedFunction extends Synthesized {
  /** Whether API Gateway invokes it through Lambda response streaming. */
  readonly streaming: boolean;
}

/** A function the Lambda sections run: a synthesized one (label = operation) or a compared copy. */
export interface FunctionUnderTest extends SynthesizedFunction {
  readonly label: string;
}

export function functionsUnderTest(
  synthesis: Synthesis,
  operations: readonly Operation[] = OPERATIONS,
): FunctionUnderTest[] {
  return operations.map((operation) => ({ ...synthesis.functions[operation], label: operation }));
}

export interface Synthesis {
  readonly dir: string;
  /** Wall time of `cdk synth`, or undefined when a previous synth of the same sources was reused. */
  readonly synthMs: number | undefined;
  readonly functions: Readonly<Record<Operation, SynthesizedFunction>>;
}

export async function synthesize(options: {
  fresh: boolean;
  log: (line: string) => void;
}): Promise<Synthesis> {
  await mkdir(OUT_DIR, { recursive: true });
  // The synth code itself shapes the cloud assembly too.
  const digest = await sourcesDigest(
    [...BUNDLE_SOURCES, 'test/helpers/synthesized-gateway.ts', 'bench/synth.ts'],
    CONTEXT,
  );
  const previous = existsSync(DIGEST_FILE) ? (await readFile(DIGEST_FILE, 'utf8')).trim() : '';
  let synthMs: number | undefined;
  if (options.fresh || previous !== digest || !existsSync(join(SYNTH_DIR, 'manifest.json'))) {
    options.log('cdk synth (bundling every function with esbuild)…');
    await rm(SYNTH_DIR, { recursive: true, force: true });
    const started = performance.now();
    await runCdkSynth(SYNTH_DIR, CONTEXT, baseEnv());
    synthMs = performance.now() - started;
    await writeFile(DIGEST_FILE, `${digest}\n`);
  } else {
    options.log(
      'cdk synth skipped: sources unchanged since the last synth (--fresh-synth forces one)',
    );
  }
  return { dir: SYNTH_DIR, synthMs, functions: await functionsOf(SYNTH_DIR) };
}

async function functionsOf(outdir: string): Promise<Record<Operation, SynthesizedFunction>> {
  const functions = await synthesizedFunctions(outdir, STACK_NAME);
  return Object.fromEntries(
    OPERATIONS.map((operation) => [
      operation,
      { ...functions[operation], streaming: functions[operation].integration.streamingInvocations },
    ]),
  ) as Record<Operation, SynthesizedFunction>;
}
