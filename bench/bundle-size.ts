import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { handlerFileOf, OPERATIONS, type Operation } from '../functions/routes.ts';
import { PROJECT_ROOT } from './processes.ts';
import type { Synthesis } from './synth.ts';

/**
 * Bundle size of each function as `cdk synth` produced it (minified ESM, `@aws-sdk/*` external),
 * plus, for reference, the same entry rebuilt by esbuild with the AWS SDK inlined: what the
 * function would weigh if the SDK were bundled instead of taken from the runtime.
 */
export interface BundleSizeRow {
  readonly operation: Operation;
  /** `index.mjs` of the synthesized asset. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Whether the synthesized bundle imports `@aws-sdk/*` at run time instead of containing it. */
  readonly awsSdkExternal: boolean;
  /** The SDK modules the bundle leaves to the runtime. */
  readonly externalImports: readonly string[];
  /** The same entry rebuilt with the AWS SDK bundled (reference only). */
  readonly bytesWithAwsSdk: number;
  /** Whether the bench's esbuild options rebuild exactly the synthesized bytes (`--compare` relies on it). */
  readonly reproducedBySynthOptions: boolean;
  /** Largest contributors to the synthesized bundle, by bytes in the output. */
  readonly topInputs: readonly { readonly name: string; readonly bytes: number }[];
}

export interface BundleSizeResult {
  readonly rows: readonly BundleSizeRow[];
}

/** NodejsFunction's esbuild options for these functions (see infra/constructs/operation-function.ts). */
export function nodejsFunctionOptions(
  entry: string,
  bundleSdk: boolean,
  workingDir = PROJECT_ROOT,
): BuildOptions & { write: false; metafile: true } {
  return {
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    external: bundleSdk ? [] : ['@aws-sdk/*'],
    // Bundling the SDK into ESM needs `require` (see aws-notes.md); harmless otherwise.
    ...(bundleSdk
      ? {
          banner: {
            js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
          },
        }
      : {}),
    logLevel: 'silent',
    absWorkingDir: workingDir,
  };
}

export async function measureBundleSizes(synthesis: Synthesis): Promise<BundleSizeResult> {
  const rows: BundleSizeRow[] = [];
  for (const operation of OPERATIONS) {
    const fn = synthesis.functions[operation];
    const code = await readFile(join(fn.assetDir, 'index.mjs'));
    const text = code.toString('utf8');
    const externalImports = [
      ...new Set([...text.matchAll(/["'](@aws-sdk\/[a-z0-9-]+)["']/g)].map((m) => m[1] as string)),
    ];
    const entry = join('functions', 'operations', handlerFileOf(operation));
    const [external, bundled] = await Promise.all([
      build(nodejsFunctionOptions(entry, false)),
      build(nodejsFunctionOptions(entry, true)),
    ]);
    rows.push({
      operation,
      bytes: code.length,
      gzipBytes: gzipSync(code, { level: 9 }).length,
      // No SDK code inside (a function that uses none, such as openapi, is fine too).
      awsSdkExternal:
        !text.includes('SecretsManagerServiceException') &&
        !text.includes('DynamoDBServiceException'),
      externalImports,
      bytesWithAwsSdk: bundled.outputFiles[0]?.contents.length ?? Number.NaN,
      reproducedBySynthOptions: Buffer.from(external.outputFiles[0]?.contents ?? []).equals(code),
      topInputs: topInputsOf(external.metafile),
    });
  }
  return { rows };
}

/** Bytes in the output per package (or per project folder), largest first. */
function topInputsOf(metafile: Metafile): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = packageOf(path);
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
}

function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1] as string;
  return `${path.split('/').slice(0, 1).join('/')}/ (project)`;
}
