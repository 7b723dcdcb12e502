import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { handlerFileOf, type Operation } from '../functions/routes.ts';
import { nodejsFunctionOptions } from './bundle-size.ts';
import { OUT_DIR } from './processes.ts';
import type { FunctionUnderTest, Synthesis } from './synth.ts';

/**
 * `--compare <dir>`: a modified copy of the repository (a worktree with a candidate fix) measured
 * side by side with this one, in the same alternating runs. Its functions are bundled with the
 * options NodejsFunction uses (the bundle section checks they reproduce `cdk synth` byte for
 * byte) and get the synthesized functions' routing file and environment; its `local/main.ts` is
 * started for the end-to-end section. Results carry the label `<operation> (compare)`.
 */
/** Appended to a compared copy's labels. */
export const COMPARE_SUFFIX = ' (compare)';

export function compareRootOf(dir: string): string {
  const root = resolve(dir);
  if (
    !existsSync(join(root, 'functions', 'operations')) ||
    !existsSync(join(root, 'local', 'main.ts'))
  ) {
    throw new Error(
      `--compare ${dir}: not a copy of this repository (no functions/operations or local/main.ts)`,
    );
  }
  if (!existsSync(join(root, 'node_modules'))) {
    throw new Error(
      `--compare ${dir}: needs node_modules (npm ci there, or a symlink to this one's)`,
    );
  }
  return root;
}

export async function buildCompareFunctions(
  root: string,
  synthesis: Synthesis,
  operations: readonly Operation[],
): Promise<FunctionUnderTest[]> {
  const outRoot = join(OUT_DIR, 'compare');
  await rm(outRoot, { recursive: true, force: true });
  const functions: FunctionUnderTest[] = [];
  for (const operation of operations) {
    const synthesized = synthesis.functions[operation];
    const dir = join(outRoot, operation);
    await mkdir(dir, { recursive: true });
    await build({
      ...nodejsFunctionOptions(
        join(root, 'functions', 'operations', handlerFileOf(operation)),
        false,
        root,
      ),
      write: true,
      outfile: join(dir, 'index.mjs'),
    });
    await copyFile(join(synthesized.assetDir, 'routing.json'), join(dir, 'routing.json'));
    functions.push({ ...synthesized, assetDir: dir, label: `${operation}${COMPARE_SUFFIX}` });
  }
  return functions;
}
