import { join } from 'node:path';
import { Duration, Names, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type MethodDeploymentOptions,
  ResponseTransferMode,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Alias } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ILogGroup, LogGroup } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { upstreamTimeoutVariable } from '../../functions/config/settings.ts';
import {
  API_PREFIX,
  BUFFERED_INTEGRATION_TIMEOUT_SECONDS,
  handlerFileOf,
  type Operation,
  ROUTES,
  type RouteDefinition,
  resourcePathOf,
} from '../../functions/routes.ts';
import type { RoutingConfig } from '../../functions/routing/routing-config.ts';
import { RUNPOD_API_KEY_PLACEHOLDER } from '../../functions/secrets/secret-source.ts';
import { bundlingRoot } from '../package-root.ts';
import { createGatewayAlarms } from './gateway-alarms.ts';
import { GatewayDashboard } from './gateway-dashboard.ts';
import type { RunPodGatewayProps } from './gateway-props.ts';
import { resolveSettings } from './gateway-settings.ts';
import { JobLedgerTable } from './job-ledger-table.ts';
import {
  acknowledgeApiFindings,
  acknowledgeCloudWatchRole,
  acknowledgeNoRotation,
  acknowledgeNoWebAcl,
  acknowledgeWildcardResources,
} from './nag-acknowledgements.ts';
import { pascalCase } from './names.ts';
import { OperationFunction } from './operation-function.ts';
import { addProblemResponses } from './problem-responses.ts';
import { BUNDLED_ROUTING_FILE, writeRoutingFile } from './routing-file.ts';
import { accessOf, importSecretReference, type SecretAccess } from './secret-references.ts';

export type {
  ExecutionLogLevel,
  GatewayLogLevel,
  GatewayThrottling,
  RunPodGatewayProps,
} from './gateway-props.ts';

/** What the created RunPod key secret holds until the operator stores the real key. */
export { RUNPOD_API_KEY_PLACEHOLDER };

/** The functions' `service` (their log lines' and metrics' dimension). */
const GATEWAY_SERVICE_NAME = 'runpod-gateway';

/** Where the handlers' sources are (this repository, or the installed package). */
const BUNDLING = bundlingRoot();
const PROJECT_ROOT = BUNDLING.packageRoot;

/**
 * A RunPod Serverless jobs gateway: a regional REST API under `/v1/runpod/{surface}/…` with
 * one Lambda function per operation (routes, methods, streaming and timeouts come from
 * `functions/routes.ts`), bearer-key authentication against a key-store secret, RFC 9457
 * problem responses for API Gateway's own errors, JSON access logs and alarms.
 */
export class RunPodGateway extends Construct {
  /** The REST API. */
  readonly api: RestApi;
  /** The function serving each operation. */
  readonly functions: Readonly<Record<Operation, NodejsFunction>>;
  /** The consumer key store (SHA-256 digests of gateway API keys). */
  readonly keyStoreSecret: ISecret;
  /** The default RunPod API key. */
  readonly runpodApiKeySecret: ISecret;
  /** Base URL of the RunPod-compatible API, e.g. `https://…/prod/v1/runpod`; append `/{surface}/run`. */
  readonly url: string;
  /** CloudWatch alarms, without actions: add yours (`alarm.addAlarmAction(...)`). */
  readonly alarms: readonly Alarm[];
  /** The SNS topic the alarms notify (unless `alarmTopic: false`). */
  readonly alarmTopic: ITopic | undefined;
  /** Where API Gateway writes the JSON access logs. */
  readonly accessLogGroup: ILogGroup;
  /** The validated routing config bundled into the functions. */
  readonly routing: RoutingConfig;
  /** The job ledger table: which key owns which job, on which endpoint, how it ended. */
  readonly ledgerTable: ITable;
  /** The operators' dashboard (unless `metrics: false`). */
  readonly dashboard: Dashboard | undefined;
  /** The scheduled sweep of unseen job ends (unless `jobSweep: false`). */
  readonly sweepFunction: NodejsFunction | undefined;

  constructor(scope: Construct, id: string, props: RunPodGatewayProps) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.routing = settings.routing;

    this.keyStoreSecret = props.keyStoreSecret ?? this.createKeyStoreSecret();
    this.runpodApiKeySecret = props.runpodApiKeySecret ?? this.createRunPodApiKeySecret();
    const keyStore = accessOf(this.keyStoreSecret);
    const defaultRunPodKey = accessOf(this.runpodApiKeySecret);
    // Every function reads the key store and any RunPod key a surface may use.
    const secrets: SecretAccess[] = [keyStore, defaultRunPodKey, ...this.surfaceKeySecrets()];

    const ledger = new JobLedgerTable(this, 'JobLedger', {
      removalPolicy: props.ledgerRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.ledgerTable = ledger.table;

    const routingFile = writeRoutingFile(this, this.routing);
    const commonEnvironment: Record<string, string> = {
      GATEWAY_CONFIG: BUNDLED_ROUTING_FILE,
      GATEWAY_KEY_STORE: keyStore.reference,
      RUNPOD_API_KEY_SECRET: defaultRunPodKey.reference,
      RUNPOD_BASE_URL: settings.upstreamBaseUrl,
      SECRETS_MAX_AGE_MS: String(settings.secretsMaxAgeMs),
      MAX_REQUEST_BODY_BYTES: String(settings.maxRequestBodyBytes),
      SERVICE_NAME: GATEWAY_SERVICE_NAME,
      LOG_LEVEL: settings.logLevel,
      ...(settings.metrics === 'off' ? { POWERTOOLS_METRICS_DISABLED: 'true' } : {}),
      ...(settings.metrics === 'totals' ? { METRICS_BREAKDOWN: 'off' } : {}),
      ...(settings.usageRetentionDays === undefined
        ? {}
        : { USAGE_RETENTION_DAYS: String(settings.usageRetentionDays) }),
    };

    const functions: Partial<Record<Operation, NodejsFunction>> = {};
    const logGroups: ILogGroup[] = [];
    for (const route of ROUTES) {
      const environment = { ...commonEnvironment };
      const upstreamTimeoutMs = settings.upstreamTimeoutsMs[route.operation];
      if (upstreamTimeoutMs !== undefined) {
        environment[upstreamTimeoutVariable(route.operation)] = String(upstreamTimeoutMs);
      }
      if (route.operation === 'stream') {
        if (settings.streamMaxDurationMs !== undefined) {
          environment.STREAM_MAX_DURATION_MS = String(settings.streamMaxDurationMs);
        }
        if (!settings.streamJournal) environment.STREAM_JOURNAL = 'off';
        if (settings.streamLeaseMs !== undefined) {
          environment.STREAM_LEASE_MS = String(settings.streamLeaseMs);
        }
      }
      if (settings.maxUpstreamBodyBytes !== undefined) {
        environment.MAX_UPSTREAM_BODY_BYTES = String(settings.maxUpstreamBodyBytes);
      }
      const ledgerStatements = ledger.statementsFor(route.operation);
      // Every function: its route's ledger use, and per-key rate counters.
      environment.LEDGER_TABLE = ledger.table.tableName;
      const operationFunction = new OperationFunction(
        this,
        `${pascalCase(route.operation)}Function`,
        {
          name: route.operation,
          serves: `${route.methods.join('|')} ${resourcePathOf(route)}`,
          timeout: Duration.seconds(route.functionTimeoutSeconds),
          entry: join(PROJECT_ROOT, 'functions', 'operations', handlerFileOf(route.operation)),
          projectRoot: BUNDLING.projectRoot,
          depsLockFilePath: BUNDLING.depsLockFilePath,
          routingFile,
          environment,
          memorySize: settings.memorySize,
          reservedConcurrency: settings.reservedConcurrency[route.operation],
          logRetention: settings.logRetention,
          tracing: settings.tracing,
          secrets,
          statements: ledgerStatements,
        },
      );
      acknowledgeWildcardResources(operationFunction.role, settings.tracing);
      functions[route.operation] = operationFunction.function;
      logGroups.push(operationFunction.logGroup);
    }
    this.functions = functions as Record<Operation, NodejsFunction>;

    if (settings.jobSweep !== undefined) {
      const environment: Record<string, string> = {
        ...commonEnvironment,
        LEDGER_TABLE: ledger.table.tableName,
        SWEEP_MIN_AGE_MS: String(settings.jobSweep.minAgeMs),
      };
      const statusTimeoutMs = settings.upstreamTimeoutsMs.status;
      if (statusTimeoutMs !== undefined) {
        environment[upstreamTimeoutVariable('status')] = String(statusTimeoutMs);
      }
      const sweep = new OperationFunction(this, 'JobSweepFunction', {
        name: 'job sweep',
        serves: `every ${settings.jobSweep.intervalMinutes} min: reads the end of jobs nobody polled to it`,
        timeout: Duration.minutes(5),
        entry: join(PROJECT_ROOT, 'functions', 'scheduled', 'sweep.ts'),
        projectRoot: BUNDLING.projectRoot,
        depsLockFilePath: BUNDLING.depsLockFilePath,
        routingFile,
        environment,
        memorySize: settings.memorySize,
        // One sweep at a time: a slow one is never overtaken by the next.
        reservedConcurrency: 1,
        logRetention: settings.logRetention,
        tracing: settings.tracing,
        secrets,
        statements: ledger.sweepStatements(),
      });
      acknowledgeWildcardResources(sweep.role, settings.tracing);
      logGroups.push(sweep.logGroup);
      new Rule(this, 'JobSweepSchedule', {
        description: 'RunPod gateway: sweep of unseen job ends',
        schedule: Schedule.rate(Duration.minutes(settings.jobSweep.intervalMinutes)),
        targets: [new LambdaFunction(sweep.function, { retryAttempts: 0 })],
      });
      this.sweepFunction = sweep.function;
    }

    const accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: settings.logRetention });
    this.accessLogGroup = accessLogGroup;
    this.api = new RestApi(this, 'Api', {
      restApiName: Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
      description: 'RunPod Serverless jobs gateway',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: settings.cloudWatchRole,
      // The role is the account's API Gateway logging role: other APIs may rely on it after
      // this stack is gone, so it outlives the stack.
      ...(settings.cloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: settings.stageName,
        accessLogDestination: new LogGroupLogDestination(accessLogGroup),
        accessLogFormat: accessLogFormat(),
        loggingLevel: settings.executionLogLevel,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: settings.tracing,
        throttlingRateLimit: settings.throttling.rateLimit,
        throttlingBurstLimit: settings.throttling.burstLimit,
        methodOptions: methodThrottlingOf(settings.operationThrottling),
      },
      ...(props.apiResourcePolicy ? { policy: props.apiResourcePolicy } : {}),
    });
    this.addRoutes();
    addProblemResponses(this.api);

    acknowledgeApiFindings(this.api);
    if (this.api.node.tryFindChild('CloudWatchRole')) {
      acknowledgeCloudWatchRole(this.api.node.findChild('CloudWatchRole'));
    }
    if (settings.webAclArn === undefined) {
      acknowledgeNoWebAcl(this.api.deploymentStage);
    } else {
      const association = new CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: settings.webAclArn,
      });
      // The stage ARN is built from literals, so nothing else orders the two.
      association.node.addDependency(this.api.deploymentStage);
    }

    this.url = this.api.urlForPath(API_PREFIX.slice(0, API_PREFIX.indexOf('/{surface}')));
    this.alarms = createGatewayAlarms(this, {
      api: this.api,
      stageName: settings.stageName,
      functions: this.functions,
      sweep: this.sweepFunction,
    });
    if (settings.metrics !== 'off') {
      const observability = new GatewayDashboard(this, 'Observability', {
        service: GATEWAY_SERVICE_NAME,
        logGroups,
        breakdown: settings.metrics === 'breakdown',
      });
      this.dashboard = observability.dashboard;
      this.alarms = [...this.alarms, ...observability.alarms];
    }
    this.alarmTopic =
      props.alarmTopic === false ? undefined : (props.alarmTopic ?? this.createAlarmTopic());
    for (const alarm of this.alarms) {
      if (this.alarmTopic) alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    }
  }

  private createAlarmTopic(): ITopic {
    return new Topic(this, 'AlarmTopic', {
      displayName: 'RunPod gateway alarms',
      enforceSSL: true,
      masterKey: Alias.fromAliasName(this, 'AlarmTopicKey', 'alias/aws/sns'),
    });
  }

  private addRoutes(): void {
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(resourcePathOf(route));
      const integration = new LambdaIntegration(this.functions[route.operation], {
        proxy: true,
        ...integrationTiming(route),
      });
      for (const method of route.methods) {
        resource.addMethod(method, integration, { operationName: route.operation });
      }
    }
  }

  private createKeyStoreSecret(): ISecret {
    const secret = new Secret(this, 'KeyStore', {
      description:
        'RunPod gateway consumer keys: {"keys":[{"id","sha256","surfaces",...}]} holding SHA-256 digests only. Edit with put-secret-value.',
      // A plain-text initial value is acceptable here only because it holds no secret: an
      // empty key list that lets nobody in. The operator adds digests with put-secret-value;
      // CloudFormation does not rewrite the value while this template text stays the same.
      secretStringValue: SecretValue.unsafePlainText('{"keys":[]}'),
    });
    acknowledgeNoRotation(secret);
    return secret;
  }

  private createRunPodApiKeySecret(): ISecret {
    const secret = new Secret(this, 'RunPodApiKey', {
      description:
        'Default RunPod API key of the RunPod gateway (plain text or {"apiKey":"..."}). Replace the placeholder with put-secret-value.',
      // A placeholder, not a secret: the real key never passes through CloudFormation. Until
      // it is replaced RunPod refuses the calls (upstream_auth_failed).
      secretStringValue: SecretValue.unsafePlainText(RUNPOD_API_KEY_PLACEHOLDER),
    });
    acknowledgeNoRotation(secret);
    return secret;
  }

  /** Imports each distinct `apiKeySecret` the surfaces name. */
  private surfaceKeySecrets(): SecretAccess[] {
    const references = new Set<string>();
    for (const surface of Object.values(this.routing.surfaces)) {
      if (surface.apiKeySecret !== undefined) references.add(surface.apiKeySecret);
    }
    return [...references].map((reference, index) =>
      importSecretReference(this, `SurfaceApiKey${index}`, reference),
    );
  }
}

/**
 * Streamed integrations may wait as long as their function runs (up to 15 min); buffered ones
 * keep API Gateway's 29 s, which their functions' timeouts already fit in.
 */
function integrationTiming(route: RouteDefinition): {
  responseTransferMode: ResponseTransferMode;
  timeout: Duration;
} {
  return route.streaming
    ? {
        responseTransferMode: ResponseTransferMode.STREAM,
        timeout: Duration.seconds(route.functionTimeoutSeconds),
      }
    : {
        responseTransferMode: ResponseTransferMode.BUFFERED,
        timeout: Duration.seconds(BUFFERED_INTEGRATION_TIMEOUT_SECONDS),
      };
}

/** One JSON object per request; no query strings or headers, so no key or payload is logged. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      requestTime: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      httpMethod: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      path: AccessLogField.contextPath(),
      protocol: AccessLogField.contextProtocol(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      latency: AccessLogField.contextResponseLatency(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      errorType: AccessLogField.contextErrorResponseType(),
      error: AccessLogField.contextErrorMessage(),
      integrationError: AccessLogField.contextIntegrationErrorMessage(),
    }),
  );
}

/** API Gateway's per-method throttling (`/<resource path>/<METHOD>`) of the operations given. */
function methodThrottlingOf(
  throttling: Partial<Record<Operation, { rateLimit: number; burstLimit: number }>>,
): Record<string, MethodDeploymentOptions> {
  const options: Record<string, MethodDeploymentOptions> = {};
  for (const route of ROUTES) {
    const limits = throttling[route.operation];
    if (!limits) continue;
    for (const method of route.methods) {
      options[`${resourcePathOf(route)}/${method}`] = {
        throttlingRateLimit: limits.rateLimit,
        throttlingBurstLimit: limits.burstLimit,
      };
    }
  }
  return options;
}
