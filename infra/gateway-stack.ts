import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { RoutingConfig } from '../functions/routing/routing-config.ts';
import { RunPodGateway, type RunPodGatewayProps } from './constructs/runpod-gateway.ts';
import { importSecretReference } from './constructs/secret-references.ts';

export interface GatewayStackProps extends StackProps {
  /** Surfaces and their RunPod endpoints (validated again by the construct). */
  readonly routing: RoutingConfig;
  /**
   * ARN of an existing secret holding the default RunPod API key.
   * @default - the construct creates one holding a placeholder
   */
  readonly runpodApiKeySecretArn?: string;
  /**
   * ARN of an existing key-store secret.
   * @default - the construct creates one holding `{"keys":[]}`
   */
  readonly keyStoreSecretArn?: string;
  /**
   * RunPod's API base URL.
   * @default 'https://api.runpod.ai/v2'
   */
  readonly upstreamBaseUrl?: string;
  /**
   * Further construct props (throttling, log retention, alarms' inputs, …).
   * @default - the construct's defaults
   */
  readonly gateway?: Omit<
    RunPodGatewayProps,
    'routing' | 'runpodApiKeySecret' | 'keyStoreSecret' | 'upstreamBaseUrl'
  >;
}

/** The deployable gateway: the construct plus the outputs an operator needs next. */
export class GatewayStack extends Stack {
  readonly gateway: RunPodGateway;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);

    this.gateway = new RunPodGateway(this, 'Gateway', {
      ...props.gateway,
      routing: props.routing,
      ...(props.runpodApiKeySecretArn === undefined
        ? {}
        : {
            runpodApiKeySecret: this.importSecretArn(
              'RunPodApiKeySecret',
              'runpodApiKeySecretArn',
              props.runpodApiKeySecretArn,
            ),
          }),
      ...(props.keyStoreSecretArn === undefined
        ? {}
        : {
            keyStoreSecret: this.importSecretArn(
              'KeyStoreSecret',
              'keyStoreSecretArn',
              props.keyStoreSecretArn,
            ),
          }),
      ...(props.upstreamBaseUrl === undefined ? {} : { upstreamBaseUrl: props.upstreamBaseUrl }),
    });

    new CfnOutput(this, 'ApiUrl', {
      description:
        'Base URL of the RunPod-compatible API; clients call <ApiUrl>/<surface>/run, …/status/<jobId> with "Authorization: Bearer <gateway key>".',
      value: this.gateway.url,
    });
    new CfnOutput(this, 'KeyStoreSecretName', {
      description:
        'Key-store secret: put {"keys":[{"id":"…","sha256":"<hex SHA-256 of the token>","surfaces":["…"]}]} with aws secretsmanager put-secret-value. Digests only, never tokens.',
      value: this.gateway.keyStoreSecret.secretName,
    });
    new CfnOutput(this, 'KeyStoreSecretArn', {
      description: 'ARN of the key-store secret.',
      value: this.gateway.keyStoreSecret.secretArn,
    });
    new CfnOutput(this, 'RunPodApiKeySecretName', {
      description:
        'Default RunPod API key secret: put your RunPod API key (plain text or {"apiKey":"…"}) with aws secretsmanager put-secret-value.',
      value: this.gateway.runpodApiKeySecret.secretName,
    });
    new CfnOutput(this, 'RunPodApiKeySecretArn', {
      description: 'ARN of the default RunPod API key secret.',
      value: this.gateway.runpodApiKeySecret.secretArn,
    });
    if (this.gateway.alarmTopic) {
      new CfnOutput(this, 'AlarmTopicArn', {
        description:
          'SNS topic every gateway alarm notifies: subscribe your e-mail, chat or paging here.',
        value: this.gateway.alarmTopic.topicArn,
      });
    }
    new CfnOutput(this, 'JobLedgerTableName', {
      description:
        'DynamoDB table of the job ledger: which consumer key owns which job, on which endpoint, and how it ended.',
      value: this.gateway.ledgerTable.tableName,
    });
  }

  private importSecretArn(id: string, contextName: string, arn: string): ISecret {
    if (!arn.startsWith('arn:')) {
      throw new Error(
        `${contextName} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>), got "${arn}"`,
      );
    }
    return importSecretReference(this, id, arn).secret;
  }
}
