import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPERATIONS, type Operation } from '../../../functions/routes.ts';
import { type FunctionDefinition, PROJECT_ROOT, TEST_ACCOUNT, TEST_REGION } from './ric-process.ts';

/**
 * The gateway app synthesized by the real CDK CLI (`cdk synth`, bundling included) with both
 * secrets imported by complete ARN, so the functions' environment holds literal secret ARNs.
 * Each function is found through the API method that routes to it (`OperationName` and the
 * integration URI), its bundle through the template's `aws:asset:path` metadata.
 */
export const KEY_STORE_SECRET_ARN = `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:gw-keys-AbCdEf`;
export const RUNPOD_KEY_SECRET_ARN = `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:gw-runpod-key-GhIjKl`;
const STACK_NAME = 'BundleTestGateway';
const CONTEXT = [
  `keyStoreSecretArn=${KEY_STORE_SECRET_ARN}`,
  `runpodApiKeySecretArn=${RUNPOD_KEY_SECRET_ARN}`,
  `stackName=${STACK_NAME}`,
];

export interface ApiIntegration {
  readonly methods: readonly string[];
  /** `BUFFERED` or `STREAM`. */
  readonly transferMode: string | undefined;
  readonly timeoutMs: number | undefined;
  /** Whether API Gateway invokes through `…/response-streaming-invocations`. */
  readonly streamingInvocations: boolean;
}

export interface BundledFunction extends FunctionDefinition {
  readonly operation: Operation;
  readonly logicalId: string;
  readonly runtime: string;
  readonly integration: ApiIntegration;
}

export interface GatewayAssembly {
  /** The cloud assembly directory (`cdk synth -o`). */
  readonly outdir: string;
  readonly stackName: string;
  readonly synthDurationMs: number;
  readonly functions: Readonly<Record<Operation, BundledFunction>>;
}

/** What `assembly.json` stores: paths relative to the cache entry, which is renamed into place. */
interface StoredAssembly {
  readonly synthDurationMs: number;
  readonly functions: Record<Operation, BundledFunction>;
}

const CACHE_ROOT = join(tmpdir(), 'runpod-gateway-bundle-tests');
const SOURCES = [
  'functions',
  'infra',
  'config',
  'package-lock.json',
  'cdk.json',
  'test/helpers/lambda/cdk-assembly.ts',
];
const LOCK_STALE_MS = 180_000;

/**
 * Synthesizes once per content of the sources that shape the bundles: test files running in
 * parallel processes share one synth (a lock directory), and a re-run with unchanged sources
 * reuses it. Set `BUNDLE_TESTS_FRESH_SYNTH=1` to force a new synth.
 */
export async function synthesizeGateway(): Promise<GatewayAssembly> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await synthesizeOnce();
    } catch (error) {
      // Other people edit the sources while tests run: synthesize what is there now.
      if (!(error instanceof SourcesChangedError) || attempt >= 3) throw error;
    }
  }
}

class SourcesChangedError extends Error {}

async function synthesizeOnce(): Promise<GatewayAssembly> {
  await mkdir(CACHE_ROOT, { recursive: true });
  const digest = await sourcesDigest();
  // A fresh synth is shared by the test files of one run: they are forks of one vitest process.
  const key =
    process.env.BUNDLE_TESTS_FRESH_SYNTH === '1' ? `${digest}-run${process.ppid}` : digest;
  const entry = join(CACHE_ROOT, key);
  const lock = `${entry}.lock`;
  for (;;) {
    const cached = await readStored(entry);
    if (cached) return cached;
    try {
      await mkdir(lock);
    } catch {
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      if (!(await readStored(entry))) await build(entry, digest);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

async function build(entry: string, digest: string): Promise<void> {
  const staging = `${entry}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const outdir = join(staging, 'cdk.out');
  try {
    const started = Date.now();
    await runCdkSynth(outdir);
    const synthDurationMs = Date.now() - started;
    // The nodejs24.x runtime provides AWS SDK v3 (the bundles leave `@aws-sdk/*` external);
    // this makes the project's copy, and only it, resolvable from the bundles.
    await mkdir(join(staging, 'node_modules'), { recursive: true });
    await symlink(
      join(PROJECT_ROOT, 'node_modules', '@aws-sdk'),
      join(staging, 'node_modules', '@aws-sdk'),
    );
    const functions = await functionsOf(outdir, staging);
    const stored: StoredAssembly = { synthDurationMs, functions };
    await writeFile(join(staging, 'assembly.json'), JSON.stringify(stored, null, 2));
    if ((await sourcesDigest()) !== digest) throw new SourcesChangedError();
    await rename(staging, entry);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await removeOtherEntries(digest);
}

async function readStored(entry: string): Promise<GatewayAssembly | undefined> {
  let text: string;
  try {
    text = await readFile(join(entry, 'assembly.json'), 'utf8');
  } catch {
    return undefined;
  }
  const stored = JSON.parse(text) as StoredAssembly;
  const functions = Object.fromEntries(
    Object.entries(stored.functions).map(([operation, fn]) => [
      operation,
      { ...fn, assetDir: join(entry, fn.assetDir) },
    ]),
  ) as Record<Operation, BundledFunction>;
  return {
    outdir: join(entry, 'cdk.out'),
    stackName: STACK_NAME,
    synthDurationMs: stored.synthDurationMs,
    functions,
  };
}

function runCdkSynth(outdir: string): Promise<void> {
  const args = ['synth', '--no-notices', '--quiet', '-o', outdir];
  for (const context of CONTEXT) args.push('-c', context);
  const bin = join(PROJECT_ROOT, 'node_modules', '.bin');
  return new Promise((resolve, reject) => {
    const child = spawn(join(bin, 'cdk'), args, {
      cwd: PROJECT_ROOT,
      // node_modules/.bin first: the CLI, tsx and esbuild all run on the project's Node 24.
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (part: Buffer) => {
      output += part.toString('utf8');
    });
    child.stderr.on('data', (part: Buffer) => {
      output += part.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`cdk synth exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
};

async function functionsOf(
  outdir: string,
  entry: string,
): Promise<Record<Operation, BundledFunction>> {
  const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stack = manifest.artifacts[STACK_NAME];
  const templateFile = stack?.properties?.templateFile;
  if (stack?.type !== 'aws:cloudformation:stack' || !templateFile) {
    throw new Error(`The cloud assembly has no stack ${STACK_NAME}`);
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
    if (!target)
      throw new Error(`The ${operation} method integrates with no function of the stack`);
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

  const functions: Partial<Record<Operation, BundledFunction>> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const routed = integrations.get(logicalId);
    if (!routed) continue;
    const properties = resource.Properties ?? {};
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string')
      throw new Error(`${logicalId} has no aws:asset:path metadata`);
    const logging = (properties.LoggingConfig ?? {}) as Record<string, unknown>;
    functions[routed.operation] = {
      operation: routed.operation,
      logicalId,
      assetDir: relative(entry, join(outdir, assetPath)),
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
  return functions as Record<Operation, BundledFunction>;
}

/** The template's variables; a value that is not a literal string cannot be run locally. */
function literalEnvironmentOf(logicalId: string, environment: unknown): Record<string, string> {
  const variables =
    (environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const literal: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
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
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string')
    return getAtt[0];
  return getAttTargetOf(Object.values(value));
}

function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
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
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const dirent of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    files.push(...(await filesUnder(join(path, dirent.name))));
  }
  return files;
}

/** Keeps the cache to the current sources (and anything another run may still be using). */
async function removeOtherEntries(key: string): Promise<void> {
  const cutoff = Date.now() - 10 * 60_000;
  for (const name of await readdir(CACHE_ROOT)) {
    if (name.startsWith(key)) continue;
    const path = join(CACHE_ROOT, name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}
