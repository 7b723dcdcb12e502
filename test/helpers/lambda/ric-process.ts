import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import {
  type InvocationResult,
  type InvokeOptions,
  type RuntimeApiEmulator,
  startRuntimeApi,
} from './runtime-api-emulator.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..', '..');
/** Node 24 from the `node` devDependency: the version of the `nodejs24.x` runtime. */
export const NODE_24 = join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const RIC_ENTRY = join(PROJECT_ROOT, 'node_modules', 'aws-lambda-ric', 'index.mjs');

export const TEST_REGION = 'us-east-1';
export const TEST_ACCOUNT = '123456789012';

/** What the runtime needs to know of a function, as the CloudFormation template declares it. */
export interface FunctionDefinition {
  /** Directory holding the bundle (`index.mjs`, `routing.json`): becomes `LAMBDA_TASK_ROOT`. */
  readonly assetDir: string;
  /** e.g. `index.handler`. */
  readonly handler: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** `Environment.Variables` of the template, every value a literal string. */
  readonly environment: Readonly<Record<string, string>>;
  /** `LoggingConfig.LogFormat` (`JSON` or `Text`). */
  readonly logFormat?: string;
  /** `LoggingConfig.ApplicationLogLevel`. */
  readonly applicationLogLevel?: string;
}

export interface LambdaProcessOptions {
  readonly definition: FunctionDefinition;
  readonly functionName: string;
  /** Replaces template variables (and only those named); e.g. `RUNPOD_BASE_URL`. */
  readonly environmentOverrides?: Readonly<Record<string, string>>;
  /** Where the AWS SDK sends Secrets Manager calls (`AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
  readonly secretsManagerUrl: string;
  /** Where the AWS SDK sends DynamoDB calls (`AWS_ENDPOINT_URL_DYNAMODB`): a local engine. */
  readonly dynamoDbUrl?: string;
  /** How long the handler module may take to load. @default 15000 */
  readonly initTimeoutMs?: number;
}

/** One execution environment: `aws-lambda-ric` under Node 24 in its own process. */
export interface LambdaProcess {
  readonly functionName: string;
  readonly runtimeApi: RuntimeApiEmulator;
  /** Milliseconds from spawn to the runtime's first poll for an invocation. */
  readonly initDurationMs: number;
  /** Invokes with the template's timeout unless `timeoutMs` says otherwise. */
  invoke(event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  /** Everything the process wrote so far (stdout then stderr interleaved as received). */
  output(): string;
  /** The output lines that parse as JSON objects (the function's and the runtime's JSON logs). */
  jsonLogs(): Record<string, unknown>[];
  /** Settles with the exit code when the runtime process exits (on its own or by `stop()`). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts a Runtime API emulator and `aws-lambda-ric` on it with the environment Lambda
 * would give the function: the reserved variables, the template's variables, region and
 * (dummy) credentials, and `AWS_LAMBDA_LOG_FORMAT` from the template's logging config.
 */
export async function startLambdaProcess(options: LambdaProcessOptions): Promise<LambdaProcess> {
  const { definition, functionName } = options;
  const functionArn = `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:${functionName}`;
  const runtimeApi = await startRuntimeApi({ functionArn });
  for (const name of Object.keys(options.environmentOverrides ?? {})) {
    if (!(name in definition.environment)) {
      throw new Error(`Override of ${name}, which the template does not set on ${functionName}`);
    }
  }
  const environment: Record<string, string> = {
    ...lambdaReservedEnvironment(definition, functionName, runtimeApi.address),
    ...definition.environment,
    ...options.environmentOverrides,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: options.secretsManagerUrl,
    ...(options.dynamoDbUrl ? { AWS_ENDPOINT_URL_DYNAMODB: options.dynamoDbUrl } : {}),
  };

  const started = Date.now();
  const child = spawn(NODE_24, [RIC_ENTRY], {
    cwd: definition.assetDir,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  const exited = new Promise<number | null>((resolveExit) => {
    // 'close', not 'exit': by then everything the process wrote has been read.
    child.once('close', (code) => resolveExit(code));
  });

  try {
    await Promise.race([
      runtimeApi.ready(options.initTimeoutMs ?? 15_000),
      exited.then((code) => {
        throw new Error(`aws-lambda-ric exited with ${code} before its first poll:\n${output}`);
      }),
    ]);
  } catch (error) {
    await stopChild(child, exited);
    await runtimeApi.close();
    throw error;
  }
  const initDurationMs = Date.now() - started;

  return {
    functionName,
    runtimeApi,
    initDurationMs,
    invoke: (event, invokeOptions) =>
      runtimeApi.invoke(event, { timeoutMs: definition.timeoutSeconds * 1000, ...invokeOptions }),
    output: () => output,
    jsonLogs: () => jsonLinesOf(output),
    exited,
    stop: async () => {
      await stopChild(child, exited);
      await runtimeApi.close();
    },
  };
}

/** The variables Lambda sets itself (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). */
function lambdaReservedEnvironment(
  definition: FunctionDefinition,
  functionName: string,
  runtimeApiAddress: string,
): Record<string, string> {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const environment: Record<string, string> = {
    PATH: `${dirname(NODE_24)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: definition.handler,
    LAMBDA_TASK_ROOT: definition.assetDir,
    AWS_LAMBDA_RUNTIME_API: runtimeApiAddress,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(definition.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    // Dummy credentials: the emulated Secrets Manager does not check signatures.
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bundle-test-session-token',
  };
  if (definition.logFormat?.toUpperCase() === 'JSON') {
    environment.AWS_LAMBDA_LOG_FORMAT = 'JSON';
    if (definition.applicationLogLevel)
      environment.AWS_LAMBDA_LOG_LEVEL = definition.applicationLogLevel;
  }
  return environment;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

function jsonLinesOf(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const json: unknown = JSON.parse(line);
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
        lines.push(json as Record<string, unknown>);
      }
    } catch {
      // Not a JSON log line.
    }
  }
  return lines;
}
