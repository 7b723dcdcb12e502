import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { OUT_DIR, PROJECT_ROOT } from './processes.ts';

/**
 * Compiles the child-process harnesses to plain ESM (so a cold start pays for no TypeScript
 * loader) and bundles the baseline handlers exactly as NodejsFunction bundles the gateway's
 * functions: minified ESM for Node 24, `@aws-sdk/*` external.
 */
export interface BuiltHarness {
  readonly coldHarness: string;
  readonly warmHarness: string;
  readonly bodyHarness: string;
  /** Directory of the floor baseline function (`index.mjs`), used like an asset directory. */
  readonly baselineDir: string;
  /** The same floor with Node's own HTTP client instead of `fetch` (informational). */
  readonly nodeHttpBaselineDir: string;
}

export async function buildHarness(): Promise<BuiltHarness> {
  const harnessDir = join(OUT_DIR, 'harness');
  await mkdir(harnessDir, { recursive: true });
  await build({
    entryPoints: {
      'cold-harness': join(PROJECT_ROOT, 'bench/harness/cold-harness.ts'),
      'warm-harness': join(PROJECT_ROOT, 'bench/harness/warm-harness.ts'),
      'body-harness': join(PROJECT_ROOT, 'bench/harness/body-harness.ts'),
    },
    outdir: harnessDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // The warm baseline's DynamoDB client, from the project's node_modules, as the functions
    // take the SDK from the runtime.
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  const baselineDir = await buildBaseline('baseline-handler.ts', 'baseline');
  const nodeHttpBaselineDir = await buildBaseline(
    'baseline-node-http-handler.ts',
    'baseline-node-http',
  );
  return {
    coldHarness: join(harnessDir, 'cold-harness.mjs'),
    warmHarness: join(harnessDir, 'warm-harness.mjs'),
    bodyHarness: join(harnessDir, 'body-harness.mjs'),
    baselineDir,
    nodeHttpBaselineDir,
  };
}

async function buildBaseline(entry: string, name: string): Promise<string> {
  const dir = join(OUT_DIR, name);
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench', 'harness', entry)],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return dir;
}
