import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GatewayStack } from './gateway-stack.ts';
import { loadRoutingConfig } from './routing-config-file.ts';

/**
 * The CDK app: the only place that reads context. Every value is optional:
 *   -c routingConfig=<path>            routing config JSON (default config/routing.json)
 *   -c runpodApiKeySecretArn=<arn>     use an existing default RunPod key secret
 *   -c keyStoreSecretArn=<arn>         use an existing key-store secret
 *   -c upstreamBaseUrl=<url>           RunPod API base URL (default https://api.runpod.ai/v2)
 *   -c stackName=<name>                CloudFormation stack name (default RunPodGateway)
 * The stack is environment-agnostic (no lookups), so `cdk synth` runs offline.
 */
const app = new App();

const routingPath = resolve(contextString(app, 'routingConfig') ?? 'config/routing.json');
const stackName = contextString(app, 'stackName') ?? 'RunPodGateway';
const runpodApiKeySecretArn = contextString(app, 'runpodApiKeySecretArn');
const keyStoreSecretArn = contextString(app, 'keyStoreSecretArn');
const upstreamBaseUrl = contextString(app, 'upstreamBaseUrl');

new GatewayStack(app, stackName, {
  description: 'RunPod Serverless jobs gateway (API Gateway REST API + Lambda)',
  routing: loadRoutingConfig(routingPath),
  ...(runpodApiKeySecretArn === undefined ? {} : { runpodApiKeySecretArn }),
  ...(keyStoreSecretArn === undefined ? {} : { keyStoreSecretArn }),
  ...(upstreamBaseUrl === undefined ? {} : { upstreamBaseUrl }),
});

// cdk-nag 3 is a policy-validation plugin (not an Aspect): unacknowledged findings fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

function contextString(scope: App, key: string): string | undefined {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new Error(`Context ${key} must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}
