import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { upstreamTimeoutVariable } from '../../functions/config/settings.ts';
import { ERROR_CODES } from '../../functions/http/error-codes.ts';
import {
  API_PREFIX,
  BUFFERED_INTEGRATION_TIMEOUT_SECONDS,
  LONG_RUNNING_OPERATIONS,
  type Operation,
  ROUTES,
  resourcePathOf,
  routeFor,
} from '../../functions/routes.ts';
import {
  RUNPOD_API_KEY_PLACEHOLDER,
  RunPodGateway,
} from '../../infra/constructs/runpod-gateway.ts';
import {
  COMPLETE_ARN,
  type GatewayFixture,
  logicalIdOf,
  PARTIAL_ARN,
  ROUTING,
  resourcePaths,
  SECRET_NAME,
  secretArnPatternOf,
  synthGateway,
  testContext,
} from './gateway-fixture.ts';

type Json = Record<string, unknown>;

const EXPECTED_ENVIRONMENT_KEYS = [
  'GATEWAY_CONFIG',
  'GATEWAY_KEY_STORE',
  'LOG_LEVEL',
  'MAX_REQUEST_BODY_BYTES',
  'RUNPOD_API_KEY_SECRET',
  'RUNPOD_BASE_URL',
  'SECRETS_MAX_AGE_MS',
  'SERVICE_NAME',
];

describe('RunPodGateway with default props', () => {
  let fixture: GatewayFixture;

  beforeAll(() => {
    // Prepare + Act: one synth shared by the read-only assertions below.
    fixture = synthGateway();
  });

  it('creates one nodejs24.x arm64 function per operation, with the route timeout', () => {
    const { template, stack, gateway } = fixture;
    // …and the scheduled sweep's.
    template.resourceCountIs('AWS::Lambda::Function', ROUTES.length + 1);
    for (const route of ROUTES) {
      const logicalId = logicalIdOf(stack, gateway.functions[route.operation]);
      const properties = template.findResources('AWS::Lambda::Function')[logicalId]?.Properties;
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 256,
        Timeout: route.functionTimeoutSeconds,
        LoggingConfig: { LogFormat: 'JSON' },
      });
      // The long-running functions are capped; the others share the account's pool.
      const capped = LONG_RUNNING_OPERATIONS.has(route.operation);
      expect(properties?.ReservedConcurrentExecutions).toBe(capped ? 50 : undefined);
    }
  });

  it('runs the sweep of unseen job ends every 5 minutes, one at a time, reading unfinished jobs by index', () => {
    const { template, stack, gateway } = fixture;
    const sweep = gateway.sweepFunction;
    if (sweep === undefined) throw new Error('the sweep is on by default');
    const logicalId = logicalIdOf(stack, sweep);
    const properties = template.findResources('AWS::Lambda::Function')[logicalId]?.Properties;
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const policies = Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
      (role.Properties.Policies ?? []).flatMap(
        (policy: { PolicyDocument: { Statement: Json[] } }) => policy.PolicyDocument.Statement,
      ),
    ) as Json[];
    const table = logicalIdOf(stack, gateway.ledgerTable);

    expect(properties).toMatchObject({
      Timeout: 300,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: { SWEEP_MIN_AGE_MS: '120000', LEDGER_TABLE: { Ref: table } } },
    });
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        { Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } },
      ],
    });
    expect(policies).toContainEqual({
      Sid: 'ListUnfinishedJobs',
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/unfinished']] },
    });
  });

  it('attaches a resource policy to the REST API when given one', () => {
    const policy = new PolicyDocument({
      statements: [
        new PolicyStatement({
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ['execute-api:Invoke'],
          resources: ['execute-api:/*'],
          conditions: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
        }),
      ],
    });

    const { template } = synthGateway({ apiResourcePolicy: policy });

    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: Match.objectLike({
        Statement: [Match.objectLike({ Effect: 'Deny', Action: 'execute-api:Invoke' })],
      }),
    });
  });

  it('takes reserved concurrency per operation from a prop, false removing a cap', () => {
    const { template, stack, gateway } = synthGateway({
      reservedConcurrency: { stream: 5, runsync: false, health: 3 },
    });
    const concurrencyOf = (operation: Operation) =>
      template.findResources('AWS::Lambda::Function')[
        logicalIdOf(stack, gateway.functions[operation])
      ]?.Properties.ReservedConcurrentExecutions;

    expect(concurrencyOf('stream')).toBe(5);
    expect(concurrencyOf('runsync')).toBeUndefined();
    expect(concurrencyOf('status-sync')).toBe(50);
    expect(concurrencyOf('health')).toBe(3);
  });

  it('creates a regional REST API', () => {
    fixture.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    fixture.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('wires every route and method of the route table to its own function', () => {
    // Prepare
    const { template, stack, gateway } = fixture;
    const paths = resourcePaths(template);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));

    // Act
    const wired = methods.map((method) => {
      const properties = method.Properties as Json;
      const integration = properties.Integration as Json;
      const uriParts = ((integration.Uri as Json)['Fn::Join'] as [string, unknown[]])[1];
      const functionRef = uriParts.find(
        (part): part is { 'Fn::GetAtt': [string, string] } =>
          typeof part === 'object' && part !== null && 'Fn::GetAtt' in part,
      );
      return {
        path: paths.get((properties.ResourceId as { Ref: string }).Ref),
        httpMethod: properties.HttpMethod,
        functionLogicalId: functionRef?.['Fn::GetAtt'][0],
        type: integration.Type,
      };
    });

    // Assess
    const expected = ROUTES.flatMap((route) =>
      route.methods.map((httpMethod) => ({
        path: resourcePathOf(route),
        httpMethod,
        functionLogicalId: logicalIdOf(stack, gateway.functions[route.operation]),
        type: 'AWS_PROXY',
      })),
    );
    expect(wired).toHaveLength(expected.length);
    expect(wired).toEqual(expect.arrayContaining(expected));
  });

  it('streams the streaming routes with the function timeout as the integration timeout', () => {
    const { template, stack, gateway } = fixture;
    for (const route of ROUTES.filter((candidate) => candidate.streaming)) {
      const functionId = logicalIdOf(stack, gateway.functions[route.operation]);
      for (const httpMethod of route.methods) {
        template.hasResourceProperties('AWS::ApiGateway::Method', {
          HttpMethod: httpMethod,
          Integration: {
            ResponseTransferMode: 'STREAM',
            TimeoutInMillis: route.functionTimeoutSeconds * 1000,
            Uri: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  ':lambda:path/2021-11-15/functions/',
                  { 'Fn::GetAtt': [functionId, 'Arn'] },
                  '/response-streaming-invocations',
                ]),
              ],
            },
          },
        });
      }
      expect(route.functionTimeoutSeconds).toBeLessThanOrEqual(900);
    }
  });

  it('keeps buffered routes on the 29 s buffered integration', () => {
    const { template, stack, gateway } = fixture;
    for (const route of ROUTES.filter((candidate) => !candidate.streaming)) {
      const functionId = logicalIdOf(stack, gateway.functions[route.operation]);
      for (const httpMethod of route.methods) {
        template.hasResourceProperties('AWS::ApiGateway::Method', {
          HttpMethod: httpMethod,
          Integration: {
            ResponseTransferMode: 'BUFFERED',
            TimeoutInMillis: BUFFERED_INTEGRATION_TIMEOUT_SECONDS * 1000,
            Uri: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  ':lambda:path/2015-03-31/functions/',
                  { 'Fn::GetAtt': [functionId, 'Arn'] },
                  '/invocations',
                ]),
              ],
            },
          },
        });
      }
    }
  });

  it('grants each function GetSecretValue on exactly the key store and the RunPod key secrets, and the batch read that needs it', () => {
    // Prepare
    const { template, stack, gateway } = fixture;
    const keyStore = { Ref: logicalIdOf(stack, gateway.keyStoreSecret) };
    const runpodKey = { Ref: logicalIdOf(stack, gateway.runpodApiKeySecret) };
    const byName = secretArnPatternOf(SECRET_NAME);
    const expected = [keyStore, runpodKey, COMPLETE_ARN, `${PARTIAL_ARN}-??????`, byName];

    // Act
    const roles = Object.values(template.findResources('AWS::IAM::Role')).filter(
      (role) =>
        role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service ===
        'lambda.amazonaws.com',
    );

    // Assess
    expect(roles).toHaveLength(ROUTES.length + 1);
    for (const role of roles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const statements = role.Properties.Policies.flatMap(
        (policy: { PolicyDocument: { Statement: Json[] } }) => policy.PolicyDocument.Statement,
      ) as Json[];
      const secretStatements = statements.filter((statement) =>
        [statement.Action].flat().some((action) => String(action).startsWith('secretsmanager:')),
      );
      expect(secretStatements).toHaveLength(2);
      expect(secretStatements[0]?.Action).toBe('secretsmanager:GetSecretValue');
      expect(secretStatements[0]?.Resource).toHaveLength(expected.length);
      expect(secretStatements[0]?.Resource).toEqual(expect.arrayContaining(expected));
      // No resource-level permissions exist for the batch action; it reads only what
      // GetSecretValue above allows.
      expect(secretStatements[1]).toMatchObject({
        Action: 'secretsmanager:BatchGetSecretValue',
        Resource: '*',
      });
      // Beside the job ledger's actions (job-ledger-table.test.ts), nothing else.
      expect(
        statements
          .flatMap((statement) => [statement.Action])
          .flat()
          .filter((action) => !String(action).startsWith('dynamodb:'))
          .sort(),
      ).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:BatchGetSecretValue',
        'secretsmanager:GetSecretValue',
      ]);
    }
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('lets each function write only to its own log group', () => {
    const { template, stack, gateway } = fixture;
    for (const route of ROUTES) {
      const fn = template.findResources('AWS::Lambda::Function')[
        logicalIdOf(stack, gateway.functions[route.operation])
      ] as { Properties: Json } | undefined;
      const properties = fn?.Properties ?? {};
      const logGroupId = (properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const roleId = (properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = template.findResources('AWS::IAM::Role')[roleId];
      expect(JSON.stringify(role?.Properties.Policies)).toContain(
        JSON.stringify({ 'Fn::GetAtt': [logGroupId, 'Arn'] }),
      );
    }
  });

  it('uses a wildcard resource only for the batch secret read, which grants nothing by itself', () => {
    const { template } = fixture;
    const documents = [
      ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
        (role.Properties.Policies ?? []).map(
          (policy: { PolicyDocument: unknown }) => policy.PolicyDocument,
        ),
      ),
      ...Object.values(template.findResources('AWS::IAM::Policy')).map(
        (policy) => policy.Properties.PolicyDocument,
      ),
    ];
    for (const document of documents) {
      for (const statement of (document as { Statement: Json[] }).Statement) {
        if (statement.Action === 'secretsmanager:BatchGetSecretValue') continue;
        for (const resource of [statement.Resource].flat()) {
          expect(JSON.stringify(resource)).not.toContain('*');
        }
      }
    }
  });

  it('gives functions secret references and settings only, never a secret value', () => {
    // Prepare
    const { template, stack, gateway } = fixture;
    const secretRefs = [
      { Ref: logicalIdOf(stack, gateway.keyStoreSecret) },
      { Ref: logicalIdOf(stack, gateway.runpodApiKeySecret) },
    ];

    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      // Act
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;

      // Assess (LEDGER_TABLE, a table name, where the operation uses the ledger)
      expect(
        Object.keys(variables)
          .filter((name) => name !== 'LEDGER_TABLE' && name !== 'SWEEP_MIN_AGE_MS')
          .sort(),
      ).toEqual(EXPECTED_ENVIRONMENT_KEYS);
      expect(variables).toMatchObject({
        GATEWAY_CONFIG: 'routing.json',
        GATEWAY_KEY_STORE: secretRefs[0],
        RUNPOD_API_KEY_SECRET: secretRefs[1],
        RUNPOD_BASE_URL: 'https://api.runpod.ai/v2',
        SECRETS_MAX_AGE_MS: '300000',
        MAX_REQUEST_BODY_BYTES: String(5 * 1024 * 1024),
        SERVICE_NAME: 'runpod-gateway',
        LOG_LEVEL: 'INFO',
      });
      const text = JSON.stringify(variables);
      expect(text).not.toContain(RUNPOD_API_KEY_PLACEHOLDER);
      expect(text).not.toContain('{{resolve:');
      expect(text).not.toContain('"keys"');
    }
  });

  it('creates the key store with an empty key list and the RunPod key with a placeholder', () => {
    fixture.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    fixture.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: '{"keys":[]}',
    });
    fixture.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: RUNPOD_API_KEY_PLACEHOLDER,
    });
  });

  it('answers API Gateway errors as problem+json with the request id and an error member', () => {
    // Prepare
    const expected: Record<string, { code: keyof typeof ERROR_CODES; pinned: boolean }> = {
      UNAUTHORIZED: { code: 'unauthorized', pinned: true },
      ACCESS_DENIED: { code: 'forbidden', pinned: true },
      MISSING_AUTHENTICATION_TOKEN: { code: 'not_found', pinned: true },
      THROTTLED: { code: 'throttled', pinned: true },
      REQUEST_TOO_LARGE: { code: 'payload_too_large', pinned: true },
      INTEGRATION_FAILURE: { code: 'gateway_error', pinned: true },
      INTEGRATION_TIMEOUT: { code: 'gateway_timeout', pinned: true },
      DEFAULT_4XX: { code: 'invalid_request', pinned: false },
      DEFAULT_5XX: { code: 'internal_error', pinned: false },
    };
    const responses = Object.values(
      fixture.template.findResources('AWS::ApiGateway::GatewayResponse'),
    ).map((resource) => resource.Properties as Json);

    for (const [type, { code, pinned }] of Object.entries(expected)) {
      // Act
      const response = responses.find((candidate) => candidate.ResponseType === type);
      const templates = (response?.ResponseTemplates ?? {}) as Record<string, string>;
      const template = templates['application/json'];
      // What API Gateway substitutes at run time ($context.error.messageString is quoted).
      const body = JSON.parse(
        String(template)
          .replaceAll('$context.error.messageString', '"Some message"')
          .replaceAll('$context.requestId', 'req-123'),
      ) as Json;

      // Assess
      const { status, title } = ERROR_CODES[code];
      expect(response?.ResponseParameters).toEqual({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
        'gatewayresponse.header.X-Request-Id': 'context.requestId',
      });
      expect(response?.StatusCode).toBe(pinned ? String(status) : undefined);
      expect(body).toMatchObject({ type: 'about:blank', title, code, requestId: 'req-123' });
      expect(body.status).toBe(pinned ? status : undefined);
      expect(typeof body.detail).toBe('string');
      // RunPod's clients show an error body's `error` string.
      expect(body.error).toBe(body.detail);
    }
  });

  it('writes JSON access logs to a log group with retention', () => {
    // Prepare
    const stage = Object.values(fixture.template.findResources('AWS::ApiGateway::Stage'))[0];

    // Act
    const format = JSON.parse(stage?.Properties.AccessLogSetting.Format as string) as Json;

    // Assess
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      status: '$context.status',
      latency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      error: '$context.error.message',
    });
    expect(stage?.Properties.AccessLogSetting.DestinationArn).toBeDefined();
    expect(stage?.Properties.StageName).toBe('prod');
  });

  it('throttles the stage and logs execution errors without data tracing', () => {
    fixture.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
      ]),
      TracingEnabled: false,
    });
  });

  it('throttles purge-queue and cancel below the stage, from RunPod\u2019s per-endpoint limits', () => {
    const settings = Object.values(fixture.template.findResources('AWS::ApiGateway::Stage'))[0]
      ?.Properties.MethodSettings as Record<string, unknown>[];
    const of = (path: string, method: string) =>
      settings.find(
        (setting) => setting.HttpMethod === method && String(setting.ResourcePath).endsWith(path),
      );

    expect(of('purge-queue', 'POST')).toMatchObject({
      ThrottlingRateLimit: 0.2,
      ThrottlingBurstLimit: 1,
    });
    expect(of('cancel~1{jobId}', 'POST')).toMatchObject({
      ThrottlingRateLimit: 10,
      ThrottlingBurstLimit: 20,
    });
  });

  it('gives every log group (one per function + access logs) a one-month retention', () => {
    const logGroups = Object.values(fixture.template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(ROUTES.length + 2);
    for (const logGroup of logGroups) {
      expect(logGroup.Properties.RetentionInDays).toBe(30);
    }
  });

  it('registers the API Gateway CloudWatch role and keeps it after the stack is gone', () => {
    fixture.template.resourceCountIs('AWS::ApiGateway::Account', 1);
    fixture.template.hasResource('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('notifies an encrypted, TLS-only SNS topic from every alarm', () => {
    const topicId = logicalIdOf(fixture.stack, fixture.gateway.alarmTopic as never);
    fixture.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: Match.anyValue(),
    });
    fixture.template.hasResourceProperties('AWS::SNS::TopicPolicy', Match.anyValue());
    for (const alarm of Object.values(fixture.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('creates the documented alarms without actions when alarmTopic is false', () => {
    const fixture = synthGateway({ alarmTopic: false });
    // (Errors, Throttles) per function + API 5XX + p99 latency of each buffered route method.
    const buffered = ROUTES.filter((route) => !route.streaming).flatMap((route) => route.methods);
    // Errors and throttles per function, the sweep's errors, 5XX, latency per buffered method,
    // and the metric alarms (RunPod auth failures, RunPod 429s, ledger failures).
    expect(fixture.gateway.alarms).toHaveLength(ROUTES.length * 2 + 1 + 1 + buffered.length + 3);
    fixture.template.resourceCountIs('AWS::CloudWatch::Alarm', fixture.gateway.alarms.length);
    fixture.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
    });
    fixture.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Dimensions: Match.arrayWith([{ Name: 'Resource', Value: `${API_PREFIX}/run` }]),
    });
    for (const alarm of Object.values(fixture.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('builds the dashboard, the top-consumer rules over every function log, and the metric alarms', () => {
    const { template, stack } = fixture;
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const rules = Object.values(template.findResources('AWS::CloudWatch::InsightRule'));
    const body = JSON.stringify(stack.resolve(dashboards[0]?.Properties.DashboardBody));
    const ruleBodies = rules.map((rule) => JSON.stringify(rule.Properties.RuleBody));
    const logGroups = Object.keys(template.findResources('AWS::Logs::LogGroup'));

    expect(dashboards).toHaveLength(1);
    for (const metric of [
      'Requests',
      'Errors5xx',
      'RunPod429',
      'StreamDone',
      'LimiterRejections',
      'PromptTokens',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('insightRule');
    expect(rules).toHaveLength(2);
    expect(ruleBodies.some((text) => text.includes('$.keyId'))).toBe(true);
    expect(ruleBodies.some((text) => text.includes('$.gpuMs'))).toBe(true);
    // Every function's log group, not the access logs.
    expect(logGroups.filter((id) => ruleBodies[0]?.includes(id))).toHaveLength(ROUTES.length + 1);
    for (const name of ['RunPodAuthFailures', 'RunPod429', 'LedgerFailures']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'RunPodGateway',
        MetricName: name,
        Dimensions: [{ Name: 'service', Value: 'runpod-gateway' }],
        AlarmActions: [{ Ref: Match.anyValue() }],
      });
    }
  });

  it("keeps the totals only with metrics: 'totals': no breakdown in the functions or the dashboard", () => {
    const { template, stack } = synthGateway({ metrics: 'totals' });
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(stack.resolve(dashboard?.Properties.DashboardBody));

    expect(body).not.toContain('SEARCH(');
    expect(body).toContain('Requests');
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.METRICS_BREAKDOWN).toBe('off');
    }
  });

  it('leaves metrics, the dashboard and its alarms out with metrics: false', () => {
    const { template, gateway } = synthGateway({ metrics: false });

    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 0);
    expect(gateway.dashboard).toBeUndefined();
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_DISABLED).toBe('true');
    }
  });

  it('exposes the RunPod base URL of the stage', () => {
    const url = JSON.stringify(fixture.stack.resolve(fixture.gateway.url));
    expect(url).toContain('.execute-api.');
    expect(url).toMatch(/"\/v1\/runpod"\]\]\}$/);
  });
});

describe('RunPodGateway with props', () => {
  it('passes overridden settings to the functions that use them', () => {
    // Prepare + Act
    const { template } = synthGateway({
      upstreamBaseUrl: 'https://runpod.internal.example.com/v2/',
      secretsCacheMaxAge: Duration.seconds(30),
      maxRequestBodyBytes: 1_000_000,
      upstreamTimeouts: { 'purge-queue': Duration.seconds(5), runsync: Duration.seconds(20) },
      streamMaxDuration: Duration.minutes(10),
      memorySize: 512,
      logLevel: 'DEBUG',
    });

    // Assess
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const environmentOf = (description: string) =>
      functions.find((fn) => String(fn.Properties.Description).endsWith(description))?.Properties
        .Environment.Variables as Record<string, unknown>;
    expect(environmentOf(`${API_PREFIX}/purge-queue`)).toMatchObject({
      RUNPOD_BASE_URL: 'https://runpod.internal.example.com/v2',
      SECRETS_MAX_AGE_MS: '30000',
      MAX_REQUEST_BODY_BYTES: '1000000',
      LOG_LEVEL: 'DEBUG',
      [upstreamTimeoutVariable('purge-queue')]: '5000',
    });
    expect(environmentOf(`${API_PREFIX}/runsync`)).toMatchObject({
      [upstreamTimeoutVariable('runsync')]: '20000',
    });
    expect(environmentOf(`${API_PREFIX}/stream/{jobId}`)).toMatchObject({
      STREAM_MAX_DURATION_MS: '600000',
    });
    expect(environmentOf(`${API_PREFIX}/run`)).not.toHaveProperty(upstreamTimeoutVariable('run'));
    expect(environmentOf(`${API_PREFIX}/run`)).not.toHaveProperty('STREAM_MAX_DURATION_MS');
    for (const fn of functions) expect(fn.Properties.MemorySize).toBe(512);
  });

  it('applies throttling, stage name, log retention, execution log level and tracing', () => {
    const { template } = synthGateway({
      throttling: { rateLimit: 25, burstLimit: 50 },
      stageName: 'live',
      logRetention: RetentionDays.ONE_WEEK,
      executionLogLevel: 'INFO',
      tracing: true,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/*',
          ThrottlingRateLimit: 25,
          ThrottlingBurstLimit: 50,
          LoggingLevel: 'INFO',
        }),
      ]),
    });
    for (const logGroup of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties.RetentionInDays).toBe(7);
    }
    template.allResourcesProperties('AWS::Lambda::Function', {
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('uses caller-supplied secrets instead of creating them', () => {
    // Prepare
    const stack = new Stack(new App({ context: testContext() }), 'Test');
    const keyStoreArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gw/keys-Xy12Ab';

    // Act
    new RunPodGateway(stack, 'Gateway', {
      routing: ROUTING,
      keyStoreSecret: Secret.fromSecretCompleteArn(stack, 'Keys', keyStoreArn),
      runpodApiKeySecret: Secret.fromSecretNameV2(stack, 'RunPodKey', 'gw/runpod'),
    });
    const template = Template.fromStack(stack);

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const variables = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties
      .Environment.Variables;
    expect(variables.GATEWAY_KEY_STORE).toBe(keyStoreArn);
    expect(JSON.stringify(variables.RUNPOD_API_KEY_SECRET)).toContain(':secret:gw/runpod"');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Role'));
    expect(policies).toContain(keyStoreArn);
    expect(policies).toContain(':secret:gw/runpod-??????');
  });

  it('associates a WAF web ACL with the stage when given', () => {
    const webAclArn =
      'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gateway/0123abcd-0123-4567-89ab-0123456789ab';
    const { template } = synthGateway({ webAclArn });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: webAclArn });
  });

  it('leaves the account CloudWatch role alone when asked', () => {
    const { template } = synthGateway({ cloudWatchRole: false });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('derives the integration timeout of a streamed route from the route table', () => {
    const { template } = synthGateway();
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      OperationName: 'runsync',
      Integration: { TimeoutInMillis: routeFor('runsync').functionTimeoutSeconds * 1000 },
    });
  });
});
