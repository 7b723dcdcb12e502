import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the function sources and the lock file are, for bundling. */
export interface BundlingRoot {
  /** The package's root: `functions/` (the handler sources) is under it. */
  readonly packageRoot: string;
  /**
   * In this repository, its root and lock file; as an installed package, undefined: the CDK then
   * finds the consuming app's lock file, whose project holds `node_modules/<this package>`.
   */
  readonly projectRoot: string | undefined;
  readonly depsLockFilePath: string | undefined;
}

/**
 * The package's root, found from this module's own place (the TypeScript sources in this
 * repository, or `dist/` in the packed package): the nearest directory up holding `functions/`.
 */
export function bundlingRoot(from = import.meta.dirname): BundlingRoot {
  let directory = from;
  while (!existsSync(join(directory, 'functions', 'operations'))) {
    const parent = dirname(directory);
    if (parent === directory) {
      throw new Error(`Cannot find the gateway's functions/ above ${from}`);
    }
    directory = parent;
  }
  const lockFile = join(directory, 'package-lock.json');
  const inRepository = existsSync(lockFile) && !directory.split(/[\\/]/).includes('node_modules');
  return {
    packageRoot: directory,
    projectRoot: inRepository ? directory : undefined,
    depsLockFilePath: inRepository ? lockFile : undefined,
  };
}
