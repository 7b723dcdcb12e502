import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { RunPodGatewayProps } from '../../infra/constructs/runpod-gateway.ts';
import { synthGateway } from './gateway-fixture.ts';

function violationsOf(props: Partial<RunPodGatewayProps>): string[] {
  const { stack } = synthGateway(props);
  const report = new AwsSolutionsChecks(stack).validateScope(stack);
  return report.violations.map(
    (violation) =>
      `${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}`,
  );
}

/** Every rule id acknowledged anywhere in the tree (aws-cdk-lib prefixes them `Annotation::`). */
function acknowledgedRules(root: IConstruct): string[] {
  const ids = new Set<string>();
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && entry.data) {
        for (const key of Object.keys(entry.data as Record<string, string>)) {
          ids.add(key.replace(/^annotation::/i, ''));
        }
      }
    }
  }
  return [...ids].sort();
}

describe('cdk-nag AwsSolutions', () => {
  it.each<[string, Partial<RunPodGatewayProps>]>([
    ['default props', {}],
    ['tracing on', { tracing: true }],
    [
      'a WAF web ACL',
      {
        webAclArn:
          'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gw/0123abcd-0123-4567-89ab-0123456789ab',
      },
    ],
    ['no CloudWatch role', { cloudWatchRole: false }],
    ['no alarm topic', { alarmTopic: false }],
  ])('reports no unacknowledged finding with %s', (_name, props) => {
    expect(violationsOf(props)).toEqual([]);
  });

  it('acknowledges only the documented findings', () => {
    // Prepare + Act
    const { stack } = synthGateway();

    // Assess: docs/deployment.md explains each of these.
    expect(acknowledgedRules(stack)).toEqual([
      'AwsSolutions-APIG2',
      'AwsSolutions-APIG3',
      'AwsSolutions-APIG4',
      'AwsSolutions-COG4',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-SMG4',
    ]);
  });

  it('needs no WAF acknowledgement once a web ACL is attached', () => {
    const { stack } = synthGateway({
      webAclArn:
        'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gw/0123abcd-0123-4567-89ab-0123456789ab',
    });
    expect(acknowledgedRules(stack)).not.toContain('AwsSolutions-APIG3');
  });
});
