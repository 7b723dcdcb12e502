import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Operation } from '../../../functions/routes.ts';
import {
  BUNDLE_SOURCES,
  PROJECT_ROOT,
  runCdkSynth,
  type SynthesizedFunction,
  sourcesDigest,
  synthContext,
  synthesizedFunctions,
} from '../synthesized-gateway.ts';
import { TEST_ACCOUNT, TEST_REGION } from './ric-process.ts';

/**
 * The gateway app synthesized by the real CDK CLI (`cdk synth`, bundling included), cached
 * across the bundle test files and runs while the sources are unchanged.
 */
export const KEY_STORE_SECRET_ARN = `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:gw-keys-AbCdEf`;
export const RUNPOD_KEY_SECRET_ARN = `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:gw-runpod-key-GhIjKl`;
const STACK_NAME = 'BundleTestGateway';
const CONTEXT = synthContext({
  keyStoreSecretArn: KEY_STORE_SECRET_ARN,
  runpodApiKeySecretArn: RUNPOD_KEY_SECRET_ARN,
  stackName: STACK_NAME,
});

export type BundledFunction = SynthesizedFunction;

export interface GatewayAssembly {
  /** The cloud assembly directory (`cdk synth -o`). */
  readonly outdir: string;
  readonly stackName: string;
  readonly synthDurationMs: number;
  readonly functions: Readonly<Record<Operation, BundledFunction>>;
  /** The scheduled sweep's function. */
  readonly sweep: BundledFunction;
}

/** What `assembly.json` stores: paths relative to the cache entry, which is renamed into place. */
interface StoredAssembly {
  readonly synthDurationMs: number;
  readonly functions: Record<Operation, BundledFunction> & { sweep?: BundledFunction };
}

const CACHE_ROOT = join(tmpdir(), 'runpod-gateway-bundle-tests');
const SOURCES = [
  ...BUNDLE_SOURCES,
  'test/helpers/synthesized-gateway.ts',
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
  const digest = await sourcesDigest(SOURCES, CONTEXT);
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
    await runCdkSynth(outdir, CONTEXT);
    const synthDurationMs = Date.now() - started;
    // The nodejs24.x runtime provides AWS SDK v3 (the bundles leave `@aws-sdk/*` external);
    // this makes the project's copy, and only it, resolvable from the bundles.
    await mkdir(join(staging, 'node_modules'), { recursive: true });
    await symlink(
      join(PROJECT_ROOT, 'node_modules', '@aws-sdk'),
      join(staging, 'node_modules', '@aws-sdk'),
    );
    // Stored relative to the entry, which is renamed into place below.
    const functions = Object.fromEntries(
      Object.entries(await synthesizedFunctions(outdir, STACK_NAME)).map(([operation, fn]) => [
        operation,
        { ...fn, assetDir: relative(staging, fn.assetDir) },
      ]),
    ) as StoredAssembly['functions'];
    const stored: StoredAssembly = { synthDurationMs, functions };
    await writeFile(join(staging, 'assembly.json'), JSON.stringify(stored, null, 2));
    if ((await sourcesDigest(SOURCES, CONTEXT)) !== digest) throw new SourcesChangedError();
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
  ) as StoredAssembly['functions'];
  const { sweep, ...operations } = functions;
  if (sweep === undefined) throw new Error('The synthesized stack has no scheduled sweep function');
  return {
    outdir: join(entry, 'cdk.out'),
    stackName: STACK_NAME,
    synthDurationMs: stored.synthDurationMs,
    functions: operations,
    sweep,
  };
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
