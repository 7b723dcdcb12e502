import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayStack } from '../../infra/gateway-stack.ts';
import { REPO_ROOT, ROUTING, testContext } from './gateway-fixture.ts';

const run = promisify(execFile);

describe('GatewayStack', () => {
  it('outputs the API URL and both secrets, telling the operator what to fill', () => {
    // Prepare + Act
    const stack = new GatewayStack(new App({ context: testContext() }), 'Gw', { routing: ROUTING });
    const outputs = Template.fromStack(stack).findOutputs('*');

    // Assess
    for (const name of [
      'ApiUrl',
      'KeyStoreSecretName',
      'KeyStoreSecretArn',
      'RunPodApiKeySecretName',
      'RunPodApiKeySecretArn',
    ]) {
      expect(outputs[name]?.Description, name).toBeTruthy();
    }
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('/v1/runpod');
    expect(outputs.KeyStoreSecretName?.Description).toContain('put-secret-value');
    expect(outputs.RunPodApiKeySecretName?.Description).toContain('put-secret-value');
  });

  it('imports existing secrets by ARN instead of creating them', () => {
    const keyStoreSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gw/keys-Ab12Cd';
    const runpodApiKeySecretArn =
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gw/runpod-Ef34Gh';
    const stack = new GatewayStack(new App({ context: testContext() }), 'Gw', {
      routing: ROUTING,
      keyStoreSecretArn,
      runpodApiKeySecretArn,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(template.findOutputs('KeyStoreSecretArn').KeyStoreSecretArn?.Value).toBe(
      keyStoreSecretArn,
    );
    expect(template.findOutputs('RunPodApiKeySecretArn').RunPodApiKeySecretArn?.Value).toBe(
      runpodApiKeySecretArn,
    );
  });

  it('refuses a secret name where an ARN is expected', () => {
    expect(
      () =>
        new GatewayStack(new App({ context: testContext() }), 'Gw', {
          routing: ROUTING,
          runpodApiKeySecretArn: 'gw/runpod',
        }),
    ).toThrow(/runpodApiKeySecretArn must be a Secrets Manager secret ARN .* got "gw\/runpod"/);
  });
});

/**
 * infra/app.ts as the CDK CLI runs it (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR),
 * with cdk-nag registered as a validation plugin; bundling is skipped to stay fast.
 */
describe('infra/app.ts', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'gateway-app-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function synthApp(context: Record<string, unknown>, outdir: string) {
    // The Node running the tests (24) runs tsx, whatever `node` is first on PATH.
    const tsxCli = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    return run(process.execPath, [tsxCli, 'infra/app.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ ...testContext(), ...context }),
      },
    });
  }

  it('synthesizes the default config with no cdk-nag violation', async () => {
    // Prepare
    const outdir = join(scratch, 'default');

    // Act
    await synthApp({}, outdir);

    // Assess
    const template = JSON.parse(readFileSync(join(outdir, 'RunPodGateway.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'KeyStoreSecretArn', 'RunPodApiKeySecretArn']),
    );
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it('reads the routing config path, stack name and secret ARN from context', async () => {
    const outdir = join(scratch, 'custom');
    const routingPath = join(scratch, 'routing.json');
    writeFileSync(routingPath, JSON.stringify({ surfaces: { only: { endpointId: 'onlyone1' } } }));
    const runpodApiKeySecretArn =
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gw/runpod-Ef34Gh';

    await synthApp(
      { routingConfig: routingPath, stackName: 'CustomGateway', runpodApiKeySecretArn },
      outdir,
    );

    const templatePath = join(outdir, 'CustomGateway.template.json');
    expect(existsSync(templatePath)).toBe(true);
    const template = JSON.parse(readFileSync(templatePath, 'utf8'));
    expect(template.Outputs.RunPodApiKeySecretArn.Value).toBe(runpodApiKeySecretArn);
  });

  it('fails with the file name when the routing config is invalid', async () => {
    const routingPath = join(scratch, 'bad-routing.json');
    writeFileSync(routingPath, JSON.stringify({ surfaces: { chat: { endpointId: 'UPPER' } } }));

    await expect(synthApp({ routingConfig: routingPath }, join(scratch, 'bad'))).rejects.toThrow(
      /bad-routing\.json: Invalid routing config: surfaces\.chat\.endpointId/,
    );
  });
});
