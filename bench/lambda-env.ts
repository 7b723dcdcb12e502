import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { LEDGER_TABLES } from './instant-services.ts';
import { NODE } from './processes.ts';
import { REGION } from './synth.ts';

/**
 * The environment Lambda gives a function (reserved variables, region, credentials) plus the
 * template's variables, with the upstream and Secrets Manager pointed at loopback services.
 * The baseline gets the very same environment.
 */
export interface LambdaEnvOptions {
  readonly functionName: string;
  readonly taskRoot: string;
  readonly memorySize: number;
  /** `Environment.Variables` of the template. */
  readonly templateEnvironment: Readonly<Record<string, string>>;
  readonly upstreamBaseUrl: string;
  readonly secretsManagerUrl: string;
  /** The instant DynamoDB, which holds the job ledger's table. */
  readonly dynamoDbUrl: string;
  /** Applied last, e.g. LOG_LEVEL for the logging comparison. */
  readonly overrides?: Readonly<Record<string, string>>;
}

export function lambdaEnvironment(options: LambdaEnvOptions): NodeJS.ProcessEnv {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    PATH: `${dirname(NODE)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: 'index.handler',
    LAMBDA_TASK_ROOT: options.taskRoot,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    // The functions' LoggingConfig is JSON; Lambda then tells the runtime so.
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bench-session-token',
    ...options.templateEnvironment,
    RUNPOD_BASE_URL: options.upstreamBaseUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: options.secretsManagerUrl,
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamoDbUrl,
    // The template names the table by reference; the floor reads its own.
    ...('LEDGER_TABLE' in options.templateEnvironment
      ? { LEDGER_TABLE: LEDGER_TABLES.gateway }
      : {}),
    BASELINE_LEDGER_TABLE: LEDGER_TABLES.floor,
    ...options.overrides,
  };
}
