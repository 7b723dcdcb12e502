import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag (AwsSolutions) findings this construct accepts on purpose, each with the reason.
 * They are recorded on the narrowest construct that raises them, so a finding anywhere else
 * in the operator's app still surfaces. docs/deployment.md lists them for reviewers.
 */

/** On the REST API: covers its methods and request validation. */
export function acknowledgeApiFindings(api: IConstruct): void {
  Validations.of(api).acknowledge(
    {
      id: 'AwsSolutions-APIG4',
      reason:
        'Every function authenticates the caller itself: a bearer key is hashed (SHA-256) and looked up in the key-store secret, and the key must allow the surface and the operation. An API Gateway authorizer would add a second Lambda invocation and cache per request without adding a control.',
    },
    {
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are machine clients holding gateway API keys (checked in every function against the key-store secret), not Cognito users.',
    },
    {
      id: 'AwsSolutions-APIG2',
      reason:
        'Query strings and bodies are validated in each function with schemas that answer RFC 9457 problems with stable codes (invalid_json, invalid_request); API Gateway models would duplicate them with a different error shape. Path parameters are matched by the resource tree.',
    },
  );
}

/** On the stage, when the operator attaches no WAF web ACL. */
export function acknowledgeNoWebAcl(stage: IConstruct): void {
  Validations.of(stage).acknowledge({
    id: 'AwsSolutions-APIG3',
    reason:
      'WAF is optional and priced per web ACL; operators attach their own with the webAclArn prop. Stage throttling and per-key authentication in the functions protect the API without it.',
  });
}

/** On API Gateway's account-wide CloudWatch Logs role, when the construct creates it. */
export function acknowledgeCloudWatchRole(role: IConstruct): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      'API Gateway has one CloudWatch Logs role per account and region, shared by every REST API there, so it cannot be scoped to this API; AWS maintains this managed policy for exactly that role.',
  });
}

/** On secrets the construct creates. */
export function acknowledgeNoRotation(secret: IConstruct): void {
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The secret holds a third-party RunPod API key (rotated in the RunPod console, then stored with put-secret-value) or a document of consumer-key digests the operator edits; neither can be rotated by a Secrets Manager rotation Lambda.',
  });
}

/** On every function role: the actions that support no resource-level permissions. */
export function acknowledgeWildcardResources(role: IConstruct, tracing: boolean): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: [
      'secretsmanager:BatchGetSecretValue supports no resource-level permissions and reveals nothing by itself: Secrets Manager also checks GetSecretValue, granted on the gateway secrets only, for every secret in the batch.',
      ...(tracing
        ? [
            'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions; the CDK adds them with Resource "*" when tracing is enabled.',
          ]
        : []),
    ].join(' '),
  });
}
