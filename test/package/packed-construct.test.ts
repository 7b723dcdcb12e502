import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/routes.ts';

/**
 * The construct as a platform team uses it: this project packed with `npm pack`, installed from
 * the tarball into a fresh TypeScript CDK app of its own, type-checked against the package's
 * declarations, synthesized (the functions bundled from the package's sources) with cdk-nag's
 * AWS Solutions checks as a validation plugin.
 */
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const NODE = process.execPath;

const APP = `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunPodGateway, type RunPodGatewayProps } from 'runpod-jobs-gateway';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'TeamGateway');
const props: RunPodGatewayProps = {
  routing: { surfaces: { chat: { endpointId: 'chatendpoint01' } } },
  logLevel: 'WARN',
};
const gateway = new RunPodGateway(stack, 'Gateway', props);
console.log(\`functions: \${Object.keys(gateway.functions).length}\`);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

describe('the construct as a package', () => {
  it('installs from the packed tarball into a fresh CDK app, type-checks, synthesizes and passes cdk-nag', async () => {
    const work = await mkdtemp(join(tmpdir(), 'packed-construct-'));
    const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ''}` };
    const { stdout: packed } = await run('npm', ['pack', '--pack-destination', work, '--silent'], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = join(work, packed.trim().split('\n').at(-1) ?? '');
    const app = join(work, 'app');
    await mkdir(app);
    const versions = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'team-gateway-app',
        private: true,
        type: 'module',
        dependencies: {
          'runpod-jobs-gateway': `file:${tarball}`,
          'aws-cdk-lib': versions.devDependencies['aws-cdk-lib'],
          constructs: versions.devDependencies.constructs,
          'cdk-nag': versions.devDependencies['cdk-nag'],
        },
      }),
    );
    await writeFile(join(app, 'app.ts'), APP);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          types: [],
        },
        include: ['app.ts'],
      }),
    );

    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      {
        cwd: app,
        env,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const contents = await readdir(join(app, 'node_modules', 'runpod-jobs-gateway'));
    await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], { cwd: app, env });
    const synth = await run(NODE, ['app.ts'], { cwd: app, env, maxBuffer: 64 * 1024 * 1024 });
    const template = JSON.parse(
      await readFile(join(app, 'cdk.out', 'TeamGateway.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string }> };
    const functions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    const assets = (await readdir(join(app, 'cdk.out'))).filter((name) =>
      name.startsWith('asset.'),
    );

    expect(contents).toEqual(expect.arrayContaining(['dist', 'functions', 'package.json']));
    expect(contents).not.toContain('test');
    expect(synth.stdout).toContain(`functions: ${ROUTES.length}`);
    // The operations' functions and the sweep's, each bundled from the package's sources.
    expect(functions.length).toBeGreaterThanOrEqual(15);
    expect(assets.length).toBeGreaterThanOrEqual(15);
  }, 600_000);
});
