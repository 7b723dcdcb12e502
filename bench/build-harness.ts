import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { OUT_DIR, PROJECT_ROOT } from './processes.ts';

/**
 * Compiles the child-process harnesses to plain ESM (so a cold start pays for no TypeScript
 * loader) and bundles the baseline handler exactly as NodejsFunction bundles the gateway's
 * functions: minified ESM for Node 24, `@aws-sdk/*` external.
 */
export interface BuiltHarness {
  readonly coldHarness: string;
  readonly warmHarness: string;
  /** Directory of the baseline function (`index.mjs`), used like an asset directory. */
  readonly baselineDir: string;
  readonly baselineBytes: number;
}

export async function buildHarness(): Promise<BuiltHarness> {
  const harnessDir = join(OUT_DIR, 'harness');
  const baselineDir = join(OUT_DIR, 'baseline');
  await mkdir(harnessDir, { recursive: true });
  await mkdir(baselineDir, { recursive: true });
  await build({
    entryPoints: {
      'cold-harness': join(PROJECT_ROOT, 'bench/harness/cold-harness.ts'),
      'warm-harness': join(PROJECT_ROOT, 'bench/harness/warm-harness.ts'),
    },
    outdir: harnessDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'silent',
  });
  await build({
    entryPoints: [join(PROJECT_ROOT, 'bench/harness/baseline-handler.ts')],
    outfile: join(baselineDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return {
    coldHarness: join(harnessDir, 'cold-harness.mjs'),
    warmHarness: join(harnessDir, 'warm-harness.mjs'),
    baselineDir,
    baselineBytes: (await stat(join(baselineDir, 'index.mjs'))).size,
  };
}
