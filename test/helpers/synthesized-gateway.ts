import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { OPERATIONS, type Operation } from '../../functions/routes.ts';

/**
 * The gateway app as the real CDK CLI synthesizes it (bundling included), read back per
 * operation. Shared by the bundle tests and the benchmark, which both run the synthesized
 * functions. Each function is found through the API method that routes to it (`OperationName`
 * and the integration URI), its bundle through the template's `aws:asset:path` metadata.
 */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

/** What shapes the bundles: a synth can be reused while none of these changed. */
export const BUNDLE_SOURCES = ['functions', 'infra', 'config', 'package-lock.json', 'cdk.json'];

export interface ApiIntegration {
  readonly methods: readonly string[];
  /** `BUFFERED` or `STREAM`. */
  readonly transferMode: string | undefined;
  readonly timeoutMs: number | undefined;
  /** Whether API Gateway invokes through `…/response-streaming-invocations`. */
  readonly streamingInvocations: boolean;
}

export interface SynthesizedFunction {
  readonly operation: Operation;
  readonly logicalId: string;
  /** Directory holding the bundle (`index.mjs`, `routing.json`): becomes `LAMBDA_TASK_ROOT`. */
  readonly assetDir: string;
  /** e.g. `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** `Environment.Variables` of the template, every value a literal string. */
  readonly environment: Readonly<Record<string, string>>;
  /** `LoggingConfig.LogFormat` (`JSON` or `Text`). */
  readonly logFormat?: string;
  /** `LoggingConfig.ApplicationLogLevel`. */
  readonly applicationLogLevel?: string;
  readonly integration: ApiIntegration;
}

/** `-c` context that imports both secrets by complete ARN, so the environment holds literals. */
export function synthContext(options: {
  keyStoreSecretArn: string;
  runpodApiKeySecretArn: string;
  stackName: string;
}): string[] {
  return [
    `keyStoreSecretArn=${options.keyStoreSecretArn}`,
    `runpodApiKeySecretArn=${options.runpodApiKeySecretArn}`,
    `stackName=${options.stackName}`,
  ];
}

/** Runs `cdk synth` with `node_modules/.bin` first, so the CLI, tsx and esbuild run on Node 24. */
export function runCdkSynth(
  outdir: string,
  context: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const args = ['synth', '--no-notices', '--quiet', '-o', outdir];
  for (const entry of context) args.push('-c', entry);
  const bin = join(PROJECT_ROOT, 'node_modules', '.bin');
  return new Promise((done, fail) => {
    const child = spawn(join(bin, 'cdk'), args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (part: Buffer) => {
      output = (output + part.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', fail);
    child.once('exit', (code) => {
      if (code === 0) done();
      else fail(new Error(`cdk synth exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

/** A digest of the context and of every file under `sources` (paths relative to the project). */
export async function sourcesDigest(
  sources: readonly string[],
  context: readonly string[],
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(context.join('\n'));
  for (const source of sources) {
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
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const dirent of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    files.push(...(await filesUnder(join(path, dirent.name))));
  }
  return files;
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
};

/** Every operation's function, and the scheduled sweep's (when the stack has it). */
export type SynthesizedFunctions = Record<Operation, SynthesizedFunction> & {
  sweep?: SynthesizedFunction;
};

/** A function no API method invokes (the scheduled sweep). */
const NO_INTEGRATION: ApiIntegration = {
  methods: [],
  transferMode: undefined,
  timeoutMs: undefined,
  streamingInvocations: false,
};

/** Every operation's function in a cloud assembly, with its bundle directory (absolute). */
export async function synthesizedFunctions(
  outdir: string,
  stackName: string,
): Promise<SynthesizedFunctions> {
  const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stack = manifest.artifacts[stackName];
  const templateFile = stack?.properties?.templateFile;
  if (stack?.type !== 'aws:cloudformation:stack' || !templateFile) {
    throw new Error(`The cloud assembly has no stack ${stackName}`);
  }
  const template = JSON.parse(await readFile(join(outdir, templateFile), 'utf8')) as Template;

  const integrations = new Map<string, { operation: Operation; integration: ApiIntegration }>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const properties = resource.Properties ?? {};
    const operation = properties.OperationName;
    const integration = properties.Integration as Record<string, unknown> | undefined;
    if (!isOperation(operation) || !integration) continue;
    const target = getAttTargetOf(integration.Uri);
    if (!target) {
      throw new Error(`The ${operation} method integrates with no function of the stack`);
    }
    const known = integrations.get(target);
    integrations.set(target, {
      operation,
      integration: {
        methods: [...(known?.integration.methods ?? []), String(properties.HttpMethod)],
        transferMode: stringOf(integration.ResponseTransferMode),
        timeoutMs:
          typeof integration.TimeoutInMillis === 'number' ? integration.TimeoutInMillis : undefined,
        streamingInvocations: JSON.stringify(integration.Uri).includes(
          '/response-streaming-invocations',
        ),
      },
    });
  }

  // The functions EventBridge rules run: the sweep, which reads job status as `status` does.
  const scheduled = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const target = getAttTargetOf(resource.Properties?.Targets);
    if (target) scheduled.add(target);
  }

  const functions: Partial<SynthesizedFunctions> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const routed =
      integrations.get(logicalId) ??
      (scheduled.has(logicalId)
        ? { operation: 'status' as const, integration: NO_INTEGRATION, key: 'sweep' as const }
        : undefined);
    if (!routed) continue;
    const properties = resource.Properties ?? {};
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') {
      throw new Error(`${logicalId} has no aws:asset:path metadata`);
    }
    const logging = (properties.LoggingConfig ?? {}) as Record<string, unknown>;
    functions['key' in routed ? routed.key : routed.operation] = {
      operation: routed.operation,
      logicalId,
      assetDir: join(outdir, assetPath),
      handler: String(properties.Handler),
      runtime: String(properties.Runtime),
      memorySize: Number(properties.MemorySize ?? 128),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      environment: literalEnvironmentOf(logicalId, properties.Environment),
      logFormat: stringOf(logging.LogFormat),
      applicationLogLevel: stringOf(logging.ApplicationLogLevel),
      integration: routed.integration,
    };
  }
  const missing = OPERATIONS.filter((operation) => !functions[operation]);
  if (missing.length > 0) throw new Error(`No function found for ${missing.join(', ')}`);
  return functions as SynthesizedFunctions;
}

/**
 * The template's variables. A value that is neither a literal string nor the table name of a
 * resource in the stack (`{"Ref": <logical id>}`, e.g. `LEDGER_TABLE`) cannot be run locally; a
 * `Ref` becomes `ref:<logical id>`, which whoever runs the bundle replaces with its own table.
 */
function literalEnvironmentOf(logicalId: string, environment: unknown): Record<string, string> {
  const variables =
    (environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const literal: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    const ref = (value as { Ref?: unknown } | null)?.Ref;
    if (typeof ref === 'string') {
      literal[name] = `ref:${ref}`;
      continue;
    }
    if (typeof value !== 'string') {
      throw new Error(
        `${logicalId}: ${name} is not a literal in the template: ${JSON.stringify(value)}`,
      );
    }
    literal[name] = value;
  }
  return literal;
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
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') {
    return getAtt[0];
  }
  return getAttTargetOf(Object.values(value));
}

function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
