import { join } from 'node:path';
import { Duration, Names, RemovalPolicy, SecretValue, Token } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseTransferMode,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ILogGroup, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_RUNPOD_BASE_URL,
  DEFAULT_SECRETS_MAX_AGE_MS,
  upstreamTimeoutVariable,
} from '../../functions/config/settings.ts';
import { type LineLevel, LOG_LEVELS } from '../../functions/observability/logger.ts';
import {
  API_PREFIX,
  BUFFERED_INTEGRATION_TIMEOUT_SECONDS,
  handlerFileOf,
  OPERATIONS,
  type Operation,
  ROUTES,
  type RouteDefinition,
  routeFor,
} from '../../functions/routes.ts';
import { parseRoutingConfig, type RoutingConfig } from '../../functions/routing/routing-config.ts';
import { RUNPOD_API_KEY_PLACEHOLDER } from '../../functions/secrets/secret-source.ts';
import { createGatewayAlarms } from './gateway-alarms.ts';
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
import {
  checkDurationMs,
  checkInteger,
  checkPositiveNumber,
  checkStageName,
  checkUpstreamBaseUrl,
} from './prop-checks.ts';
import { BUNDLED_ROUTING_FILE, writeRoutingFile } from './routing-file.ts';
import { accessOf, importSecretReference, type SecretAccess } from './secret-references.ts';

/** Log levels the functions accept in `LOG_LEVEL`. */
export type GatewayLogLevel = LineLevel;

/** API Gateway execution-log levels; logging cannot be turned off (cdk-nag APIG6). */
export type ExecutionLogLevel = 'INFO' | 'ERROR';

/** Stage-wide request limits, shared by all callers (per-key limits are not offered). */
export interface GatewayThrottling {
  /**
   * Steady-state requests per second.
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Requests that may arrive at once above the steady rate.
   * @default 200
   */
  readonly burstLimit?: number;
}

export interface RunPodGatewayProps {
  /**
   * Surfaces and their RunPod endpoints. Validated at synth time and bundled into every
   * function as `routing.json`; a change redeploys the functions.
   */
  readonly routing: RoutingConfig;
  /**
   * Secret holding the consumer keys: `{"keys":[{"id","sha256","surfaces",...}]}` with
   * SHA-256 digests only, never tokens.
   * @default - a new secret holding `{"keys":[]}` (no caller is let in until keys are added)
   */
  readonly keyStoreSecret?: ISecret;
  /**
   * Secret holding the default RunPod API key, as plain text or `{"apiKey":"…"}`.
   * Surfaces may name their own with `apiKeySecret` in the routing config.
   * @default - a new secret holding a placeholder the operator replaces with put-secret-value
   */
  readonly runpodApiKeySecret?: ISecret;
  /**
   * RunPod's serverless API base URL. Must be https (plain http only for a loopback host).
   * @default 'https://api.runpod.ai/v2'
   */
  readonly upstreamBaseUrl?: string;
  /**
   * Stage-wide throttling.
   * @default - 100 requests per second, bursts of 200
   */
  readonly throttling?: GatewayThrottling;
  /**
   * Retention of the function logs and the API access logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * How long a function reuses a secret value before reading it again; bounds how long a
   * revoked consumer key keeps working.
   * @default Duration.minutes(5)
   */
  readonly secretsCacheMaxAge?: Duration;
  /**
   * Per-operation RunPod request timeouts, on top of any hold (`wait`) the request asks for.
   * Each must be below the operation's function timeout.
   * @default - each route's `upstreamTimeoutMs` in `functions/routes.ts`
   */
  readonly upstreamTimeouts?: Partial<Record<Operation, Duration>>;
  /**
   * Largest request body accepted, in bytes. Must stay below Lambda's 6 MB invocation limit
   * (6,291,456 bytes), which the rest of the event shares.
   * @default 5,242,880 (5 MiB)
   */
  readonly maxRequestBodyBytes?: number;
  /**
   * Longest time one `/stream` SSE connection is relayed before a closing `timeout` event.
   * Must be below the stream function's timeout.
   * @default - the stream function timeout minus 20 seconds (880 s)
   */
  readonly streamMaxDuration?: Duration;
  /**
   * Memory of each function, in MB (also scales its CPU share).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Log level of the functions (`LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: GatewayLogLevel;
  /**
   * Name of the API stage; part of every URL.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * API Gateway execution-log level. Data tracing (full requests in logs) is always off:
   * it would log bearer keys and payloads.
   * @default 'ERROR'
   */
  readonly executionLogLevel?: ExecutionLogLevel;
  /**
   * Whether to create API Gateway's CloudWatch Logs role and register it for the account
   * and region (needed for execution logs). Set false when the account already has one: it is
   * a single setting per account and region, shared by every REST API there.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Whether to enable X-Ray active tracing on the stage and the functions.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * ARN of a regional WAFv2 web ACL to associate with the stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * What happens to the job ledger table (job owners, endpoints, outcomes) when the stack is
   * deleted or the table replaced.
   * @default RemovalPolicy.RETAIN
   */
  readonly ledgerRemovalPolicy?: RemovalPolicy;
}

const DEFAULT_THROTTLING = { rateLimit: 100, burstLimit: 200 } as const;
const DEFAULT_MEMORY_MB = 256;
/** Lambda rejects invocation payloads above 6 MB; the body travels inside the event. */
const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
/** REST API integrations stream for at most 15 minutes, Lambda's own ceiling. */
const MAX_STREAMING_TIMEOUT_SECONDS = 900;
/** Room the stream function keeps after its relay budget to write the closing event. */
const STREAM_CLOSE_MARGIN_MS = 20_000;
const GATEWAY_LOG_LEVELS = LOG_LEVELS.filter(
  (level): level is GatewayLogLevel => level !== 'SILENT',
);
const EXECUTION_LOG_LEVELS: Readonly<Record<ExecutionLogLevel, MethodLoggingLevel>> = {
  INFO: MethodLoggingLevel.INFO,
  ERROR: MethodLoggingLevel.ERROR,
};
const WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[^/]+\/[^/]+$/;

/** What the created RunPod key secret holds until the operator stores the real key. */
export { RUNPOD_API_KEY_PLACEHOLDER };

/** The repository root: handlers live in `functions/operations/`, the lock file beside package.json. */
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

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
  /** Where API Gateway writes the JSON access logs. */
  readonly accessLogGroup: ILogGroup;
  /** The validated routing config bundled into the functions. */
  readonly routing: RoutingConfig;
  /** The job ledger table: which key owns which job, on which endpoint, how it ended. */
  readonly ledgerTable: ITable;

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
      SERVICE_NAME: 'runpod-gateway',
      LOG_LEVEL: settings.logLevel,
    };

    const functions: Partial<Record<Operation, NodejsFunction>> = {};
    for (const route of ROUTES) {
      const environment = { ...commonEnvironment };
      const upstreamTimeoutMs = settings.upstreamTimeoutsMs[route.operation];
      if (upstreamTimeoutMs !== undefined) {
        environment[upstreamTimeoutVariable(route.operation)] = String(upstreamTimeoutMs);
      }
      if (route.operation === 'stream' && settings.streamMaxDurationMs !== undefined) {
        environment.STREAM_MAX_DURATION_MS = String(settings.streamMaxDurationMs);
      }
      const ledgerStatements = ledger.statementsFor(route.operation);
      if (ledgerStatements.length > 0) environment.LEDGER_TABLE = ledger.table.tableName;
      const operationFunction = new OperationFunction(
        this,
        `${pascalCase(route.operation)}Function`,
        {
          route,
          entry: join(PROJECT_ROOT, 'functions', 'operations', handlerFileOf(route.operation)),
          projectRoot: PROJECT_ROOT,
          depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
          routingFile,
          environment,
          memorySize: settings.memorySize,
          logRetention: settings.logRetention,
          tracing: settings.tracing,
          secrets,
          statements: ledgerStatements,
        },
      );
      acknowledgeWildcardResources(operationFunction.role, settings.tracing);
      functions[route.operation] = operationFunction.function;
    }
    this.functions = functions as Record<Operation, NodejsFunction>;

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
      },
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
    });
  }

  private addRoutes(): void {
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(`${API_PREFIX}${route.path}`);
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

interface ResolvedSettings {
  readonly routing: RoutingConfig;
  readonly upstreamBaseUrl: string;
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly secretsMaxAgeMs: number;
  readonly upstreamTimeoutsMs: Partial<Record<Operation, number>>;
  readonly maxRequestBodyBytes: number;
  readonly streamMaxDurationMs: number | undefined;
  readonly memorySize: number;
  readonly logLevel: GatewayLogLevel;
  readonly stageName: string;
  readonly executionLogLevel: MethodLoggingLevel;
  readonly cloudWatchRole: boolean;
  readonly tracing: boolean;
  readonly webAclArn: string | undefined;
}

/** Validates every prop (and the route table's limits) and fills in the defaults. */
function resolveSettings(props: RunPodGatewayProps): ResolvedSettings {
  checkRouteTable();
  const routing = parseRoutingConfig(props.routing);
  if (Object.keys(routing.surfaces).length === 0) {
    throw new Error(
      'Invalid routing config: surfaces must name at least one surface, e.g. {"surfaces":{"chat":{"endpointId":"…"}}}',
    );
  }

  const logLevel = props.logLevel ?? 'INFO';
  if (!GATEWAY_LOG_LEVELS.includes(logLevel)) {
    throw new Error(`logLevel must be one of ${GATEWAY_LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const executionLogLevel = props.executionLogLevel ?? 'ERROR';
  if (!Object.hasOwn(EXECUTION_LOG_LEVELS, executionLogLevel)) {
    throw new Error(`executionLogLevel must be INFO or ERROR, got "${executionLogLevel}"`);
  }

  const upstreamTimeoutsMs: Partial<Record<Operation, number>> = {};
  for (const [operation, timeout] of Object.entries(props.upstreamTimeouts ?? {})) {
    if (!isOperation(operation)) {
      throw new Error(
        `upstreamTimeouts has an unknown operation "${operation}"; operations are ${OPERATIONS.join(', ')}`,
      );
    }
    if (timeout === undefined) continue;
    upstreamTimeoutsMs[operation] = checkDurationMs(
      `upstreamTimeouts.${operation}`,
      timeout,
      routeFor(operation).functionTimeoutSeconds * 1000,
    );
  }

  const streamTimeoutMs = routeFor('stream').functionTimeoutSeconds * 1000;
  return {
    routing,
    upstreamBaseUrl: checkUpstreamBaseUrl(props.upstreamBaseUrl ?? DEFAULT_RUNPOD_BASE_URL),
    throttling: {
      rateLimit: checkPositiveNumber(
        'throttling.rateLimit',
        props.throttling?.rateLimit ?? DEFAULT_THROTTLING.rateLimit,
      ),
      burstLimit: checkInteger(
        'throttling.burstLimit',
        props.throttling?.burstLimit ?? DEFAULT_THROTTLING.burstLimit,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
    },
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    secretsMaxAgeMs:
      props.secretsCacheMaxAge === undefined
        ? DEFAULT_SECRETS_MAX_AGE_MS
        : checkDurationMs('secretsCacheMaxAge', props.secretsCacheMaxAge, Number.MAX_SAFE_INTEGER),
    upstreamTimeoutsMs,
    maxRequestBodyBytes: checkInteger(
      'maxRequestBodyBytes',
      props.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
      1,
      LAMBDA_PAYLOAD_LIMIT_BYTES - 1,
    ),
    streamMaxDurationMs:
      props.streamMaxDuration === undefined
        ? undefined
        : checkDurationMs('streamMaxDuration', props.streamMaxDuration, streamTimeoutMs),
    memorySize: checkInteger('memorySize', props.memorySize ?? DEFAULT_MEMORY_MB, 128, 10_240),
    logLevel,
    stageName: checkStageName(props.stageName ?? 'prod'),
    executionLogLevel: EXECUTION_LOG_LEVELS[executionLogLevel],
    cloudWatchRole: props.cloudWatchRole ?? true,
    tracing: props.tracing ?? false,
    webAclArn: props.webAclArn === undefined ? undefined : checkWebAclArn(props.webAclArn),
  };
}

/**
 * The route table is the lead's to change; this catches a timeout API Gateway or Lambda
 * would refuse, at synth time instead of in a failed deployment.
 */
function checkRouteTable(): void {
  for (const route of ROUTES) {
    const limit = route.streaming
      ? MAX_STREAMING_TIMEOUT_SECONDS
      : BUFFERED_INTEGRATION_TIMEOUT_SECONDS;
    if (route.functionTimeoutSeconds > limit) {
      throw new Error(
        `Route ${route.operation}: functionTimeoutSeconds ${route.functionTimeoutSeconds} exceeds the ${limit} s a ${route.streaming ? 'streamed' : 'buffered'} integration allows`,
      );
    }
  }
  if (routeFor('stream').functionTimeoutSeconds * 1000 <= STREAM_CLOSE_MARGIN_MS) {
    throw new Error('Route stream: functionTimeoutSeconds leaves no time to relay a stream');
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

function checkWebAclArn(value: string): string {
  if (!Token.isUnresolved(value) && !WEB_ACL_ARN.test(value)) {
    throw new Error(
      `webAclArn must be a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>), got "${value}"`,
    );
  }
  return value;
}

function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}
