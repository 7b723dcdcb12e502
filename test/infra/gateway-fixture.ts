import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { RoutingConfig } from '../../functions/routing/routing-config.ts';
import { RunPodGateway, type RunPodGatewayProps } from '../../infra/constructs/runpod-gateway.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** A surface key secret named by complete ARN, one by partial ARN and one by name. */
export const COMPLETE_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:images/runpod-key-AbC123';
export const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:shared/runpod';
export const SECRET_NAME = 'embeddings/runpod-key';

/** How the construct grants a secret named by name: its ARN in the stack's account and region, any suffix. */
export function secretArnPatternOf(name: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:secret:${name}-??????`,
      ],
    ],
  };
}

export const ROUTING: RoutingConfig = {
  surfaces: {
    chat: {
      endpointId: 'chatendpoint01',
      models: { 'llama-3-8b': 'llama3endpoint01' },
      allowedEndpointIds: ['chatcanary01'],
    },
    images: { endpointId: 'imagesendpoint1', apiKeySecret: COMPLETE_ARN },
    embeddings: { endpointId: 'embedendpoint01', apiKeySecret: SECRET_NAME },
    audio: { endpointId: 'audioendpoint01', apiKeySecret: PARTIAL_ARN },
    // A second surface naming the same secret must not duplicate the grant.
    video: { endpointId: 'videoendpoint01', apiKeySecret: SECRET_NAME },
  },
};

/** The context `cdk synth` uses (cdk.json), without bundling so that tests stay fast. */
export function testContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
}

export interface GatewayFixture {
  readonly stack: Stack;
  readonly gateway: RunPodGateway;
  readonly template: Template;
}

export function synthGateway(props: Partial<RunPodGatewayProps> = {}): GatewayFixture {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Test');
  const gateway = new RunPodGateway(stack, 'Gateway', { routing: ROUTING, ...props });
  return { stack, gateway, template: Template.fromStack(stack) };
}

/** Builds the construct only (no template): for props that must be refused. */
export function buildGateway(props: Partial<RunPodGatewayProps> = {}): RunPodGateway {
  const app = new App({ context: testContext() });
  return new RunPodGateway(new Stack(app, 'Test'), 'Gateway', { routing: ROUTING, ...props });
}

export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error('construct has no default child');
  return stack.getLogicalId(child as Parameters<Stack['getLogicalId']>[0]);
}

/** Full paths of the API's resources by logical id, rebuilt from PathPart/ParentId. */
export function resourcePaths(template: Template): Map<string, string> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const paths = new Map<string, string>();
  const pathOf = (logicalId: string): string => {
    const known = paths.get(logicalId);
    if (known !== undefined) return known;
    const resource = resources[logicalId];
    if (!resource) return '';
    const parent = resource.Properties.ParentId as { Ref?: string; 'Fn::GetAtt'?: unknown };
    const parentPath = parent.Ref === undefined ? '' : pathOf(parent.Ref);
    const path = `${parentPath}/${resource.Properties.PathPart as string}`;
    paths.set(logicalId, path);
    return path;
  };
  for (const logicalId of Object.keys(resources)) pathOf(logicalId);
  return paths;
}
