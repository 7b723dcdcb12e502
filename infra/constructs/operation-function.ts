import type { Duration } from 'aws-cdk-lib';
import {
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { ViaServicePrincipal } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { copyRoutingFileHooks } from './routing-file.ts';
import type { SecretAccess } from './secret-references.ts';

export interface OperationFunctionProps {
  /** The operation (or scheduled task) it runs, for its role's description. */
  readonly name: string;
  /** What it serves, e.g. `GET|POST /v1/runpod/{surface}/status/{jobId}`. */
  readonly serves: string;
  readonly timeout: Duration;
  /** The handler module (exports `handler`). */
  readonly entry: string;
  /** The directory holding the lock file; esbuild runs from there (default: found from the app's). */
  readonly projectRoot: string | undefined;
  readonly depsLockFilePath: string | undefined;
  /** The validated routing config, copied into the bundle. */
  readonly routingFile: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly memorySize: number;
  /** Reserved (and so capped) concurrency; none when absent. */
  readonly reservedConcurrency?: number | undefined;
  readonly logRetention: RetentionDays;
  readonly tracing: boolean;
  /** Every secret the function reads; it may read nothing else. */
  readonly secrets: readonly SecretAccess[];
  /** Further permissions the function needs (its use of the job ledger). */
  readonly statements?: readonly PolicyStatement[];
}

/**
 * One operation's (or the sweep's) Lambda function with its own role and log group. The role carries an inline
 * policy instead of AWSLambdaBasicExecutionRole, so it can write to its own log group only.
 */
export class OperationFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: IRole;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: OperationFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });

    const statements = [
      new PolicyStatement({
        sid: 'WriteOwnLogs',
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
      new PolicyStatement({
        sid: 'ReadGatewaySecrets',
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: unique(props.secrets.map((access) => access.policyResource)),
      }),
      // Reads both secrets in one request at cold start. The action has no resource-level
      // permissions and grants nothing by itself: every secret in the batch is still checked
      // against the GetSecretValue statement above.
      new PolicyStatement({
        sid: 'BatchReadGatewaySecrets',
        effect: Effect.ALLOW,
        actions: ['secretsmanager:BatchGetSecretValue'],
        resources: ['*'],
      }),
      ...(props.statements ?? []),
    ];
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `RunPod gateway ${props.name} function`,
      inlinePolicies: { gateway: new PolicyDocument({ statements }) },
    });
    // A caller-supplied secret encrypted with a customer managed key also needs kms:Decrypt,
    // through Secrets Manager only (as Secret.grantRead does).
    for (const { secret } of props.secrets) {
      secret.encryptionKey?.grantDecrypt(
        new ViaServicePrincipal(`secretsmanager.${secret.env.region}.amazonaws.com`, role),
      );
    }
    this.role = role;

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      ...(props.projectRoot === undefined ? {} : { projectRoot: props.projectRoot }),
      ...(props.depsLockFilePath === undefined ? {} : { depsLockFilePath: props.depsLockFilePath }),
      description: `RunPod gateway: ${props.serves}`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      timeout: props.timeout,
      role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      ...(props.tracing ? { tracing: Tracing.ACTIVE } : {}),
      environment: { ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        // Prefer packages' ESM builds over CommonJS ones inside the ESM bundle.
        mainFields: ['module', 'main'],
        minify: true,
        // No source maps: --enable-source-maps makes every stack trace pay for the map, and
        // the map file costs cold-start time; the modules are small enough to read minified.
        sourceMap: false,
        // The nodejs24.x runtime provides AWS SDK v3; bundling it would add ~450 KB per client.
        externalModules: ['@aws-sdk/*'],
        commandHooks: copyRoutingFileHooks(props.routingFile),
      },
    });
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
