import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles a test-only handler module the way the construct's `NodejsFunction`s are bundled
 * (ESM `index.mjs`, minified, module-first main fields, `@aws-sdk/*` left to the runtime),
 * into a fresh directory usable as `LAMBDA_TASK_ROOT`.
 */
export async function bundleFixture(entry: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'bundle-fixture-'));
  await build({
    entryPoints: [entry],
    outfile: join(directory, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return directory;
}
