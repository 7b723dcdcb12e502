import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stage } from 'aws-cdk-lib';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import type { RoutingConfig } from '../../functions/routing/routing-config.ts';

/** The name of the routing config inside each bundle; `GATEWAY_CONFIG` points at it. */
export const BUNDLED_ROUTING_FILE = 'routing.json';

/**
 * Writes the validated routing config where bundling can pick it up, and returns its path.
 *
 * It goes next to the cloud assembly (`cdk.out/runpod-gateway/`), named by its content hash so
 * that two gateways with different configs in one app never overwrite each other, and a
 * re-synth with the same config rewrites the same file instead of piling up temp dirs.
 */
export function writeRoutingFile(scope: Construct, config: RoutingConfig): string {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const outdir = Stage.of(scope)?.outdir;
  const directory = outdir
    ? join(outdir, 'runpod-gateway')
    : mkdtempSync(join(tmpdir(), 'runpod-gateway-'));
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `routing-${digest}.json`);
  writeFileSync(path, text, 'utf8');
  return path;
}

/**
 * Bundling hooks copying `sourcePath` into the bundle as `routing.json`. Local bundling runs
 * hook commands with `bash -c` (or `cmd /c` on Windows), so the paths are quoted for that shell.
 * The bundle's asset hash covers its output, so a routing change redeploys every function.
 */
export function copyRoutingFileHooks(sourcePath: string): ICommandHooks {
  const windows = process.platform === 'win32';
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) => {
      const target = join(outputDir, BUNDLED_ROUTING_FILE);
      return windows
        ? [`copy /Y "${sourcePath}" "${target}"`]
        : [`cp ${shellQuote(sourcePath)} ${shellQuote(target)}`];
    },
  };
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
