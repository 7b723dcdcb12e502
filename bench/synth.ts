import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { OPERATIONS, type Operation } from '../functions/routes.ts';
import { BIN, baseEnv, NODE, OUT_DIR, PROJECT_ROOT } from './processes.ts';

/**
 * The functions exactly as `cdk synth` builds them (NodejsFunction + esbuild), with both secrets
 * imported by complete ARN so every environment variable in the template is a literal.
 */
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const KEY_STORE_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-keys-AbCdEf`;
export const RUNPOD_KEY_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-runpod-GhIjKl`;
const STACK_NAME = 'BenchGateway';
const CONTEXT = [
  `keyStoreSecretArn=${KEY_STORE_SECRET_ARN}`,
  `runpodApiKeySecretArn=${RUNPOD_KEY_SECRET_ARN}`,
  `stackName=${STACK_NAME}`,
];
/** What shapes the bundles: a synth is reused while none of these changed. */
const SOURCES = ['functions', 'infra', 'config', 'package-lock.json', 'cdk.json'];
const SYNTH_DIR = join(OUT_DIR, 'cdk.out');
const DIGEST_FILE = join(OUT_DIR, 'cdk.out.digest');

export interface SynthesizedFunction {
  readonly operation: Operation;
  readonly logicalId: string;
  /** The asset directory: `index.mjs` + `routing.json`; `LAMBDA_TASK_ROOT` when run. */
  readonly assetDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly streaming: boolean;
  readonly environment: Readonly<Record<string, string>>;
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
  const digest = await sourcesDigest();
  const previous = existsSync(DIGEST_FILE) ? (await readFile(DIGEST_FILE, 'utf8')).trim() : '';
  let synthMs: number | undefined;
  if (options.fresh || previous !== digest || !existsSync(join(SYNTH_DIR, 'manifest.json'))) {
    options.log('cdk synth (bundling every function with esbuild)…');
    await rm(SYNTH_DIR, { recursive: true, force: true });
    const started = performance.now();
    await runCdkSynth(SYNTH_DIR);
    synthMs = performance.now() - started;
    await writeFile(DIGEST_FILE, `${digest}\n`);
  } else {
    options.log(
      'cdk synth skipped: sources unchanged since the last synth (--fresh-synth forces one)',
    );
  }
  return { dir: SYNTH_DIR, synthMs, functions: await functionsOf(SYNTH_DIR) };
}

function runCdkSynth(outdir: string): Promise<void> {
  const args = ['synth', '--no-notices', '--quiet', '-o', outdir];
  for (const context of CONTEXT) args.push('-c', context);
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [join(BIN, 'cdk'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...baseEnv(), PATH: `${BIN}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (part: Buffer) => {
      output = (output + part.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`cdk synth exited with ${code}:\n${output}`));
    });
  });
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

async function functionsOf(outdir: string): Promise<Record<Operation, SynthesizedFunction>> {
  const template = JSON.parse(
    await readFile(join(outdir, `${STACK_NAME}.template.json`), 'utf8'),
  ) as {
    Resources: Record<string, TemplateResource>;
  };
  // API method → function: the method's OperationName and the function its integration invokes.
  const operationOf = new Map<string, { operation: Operation; streaming: boolean }>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const operation = resource.Properties?.OperationName;
    const integration = resource.Properties?.Integration;
    if (!isOperation(operation)) continue;
    const target = getAttTargetOf(integration);
    if (target) {
      operationOf.set(target, {
        operation,
        streaming: JSON.stringify(integration).includes('/response-streaming-invocations'),
      });
    }
  }
  const functions: Partial<Record<Operation, SynthesizedFunction>> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const routed = operationOf.get(logicalId);
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (!routed || typeof assetPath !== 'string') continue;
    const properties = resource.Properties ?? {};
    const variables =
      (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {};
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value !== 'string')
        throw new Error(`${logicalId}: ${name} is not a literal in the template`);
      environment[name] = value;
    }
    functions[routed.operation] = {
      operation: routed.operation,
      logicalId,
      assetDir: join(outdir, assetPath),
      handler: String(properties.Handler),
      runtime: String(properties.Runtime),
      memorySize: Number(properties.MemorySize ?? 128),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      streaming: routed.streaming,
      environment,
    };
  }
  const missing = OPERATIONS.filter((operation) => !functions[operation]);
  if (missing.length > 0)
    throw new Error(`The synthesized template has no function for ${missing.join(', ')}`);
  return functions as Record<Operation, SynthesizedFunction>;
}

function getAttTargetOf(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = getAttTargetOf(item);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string')
    return getAtt[0];
  return getAttTargetOf(Object.values(value));
}

function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

async function sourcesDigest(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(CONTEXT.join('\n'));
  for (const source of SOURCES) {
    for (const file of await filesUnder(join(PROJECT_ROOT, source))) {
      hash.update(`\n${relative(PROJECT_ROOT, file)}\n`);
      hash.update(await readFile(file));
    }
  }
  return hash.digest('hex').slice(0, 24);
}

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const files: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    files.push(...(await filesUnder(join(path, entry.name))));
  }
  return files;
}
