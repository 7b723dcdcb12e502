/**
 * The one logger: one JSON object per line on stdout, with `level`, `message`, `timestamp` and
 * `service` first (the keys Lambda's JSON log format and CloudWatch Logs Insights read), the
 * X-Ray trace id when there is one, then the fields named at each call. Callers name every
 * field: never whole events (they hold the Authorization header), bodies, tokens, RunPod keys
 * or `s3Config`.
 *
 * Written here rather than taken from Powertools Logger: the gateway uses none of its features
 * beyond this, and where the budgets are tight the bench measured Powertools' line at several
 * times the CPU of a plain JSON line, plus a few ms of cold start (docs/performance.md).
 */

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The levels a line can have (`SILENT` only sets a threshold). */
export type LineLevel = Exclude<LogLevel, 'SILENT'>;

/** Values a log field may hold; `undefined` fields are left out of the line. */
export type LogValue = string | number | boolean | Error | undefined;
export type LogFields = Readonly<Record<string, LogValue>>;

export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  readonly service: string;
  /** `LOG_LEVEL`; unknown or missing means INFO. */
  readonly level?: string | undefined;
  /**
   * Lambda's application log level (`AWS_LAMBDA_LOG_LEVEL`, set when the function's logging
   * config has one). Lambda drops lines below it, so they are not written at all.
   */
  readonly lambdaLevel?: string | undefined;
  readonly write: (line: string) => void;
  /** The current X-Ray trace header (`_X_AMZN_TRACE_ID`), read per line: Lambda sets it per invocation. */
  readonly traceHeader?: () => string | undefined;
}

const RANK: Readonly<Record<LogLevel, number>> = {
  DEBUG: 1,
  INFO: 2,
  WARN: 3,
  ERROR: 4,
  SILENT: 5,
};

function levelOf(raw: string | undefined): LogLevel | undefined {
  const upper = raw?.trim().toUpperCase();
  // Lambda's own names for levels this logger folds into its own.
  if (upper === 'TRACE') return 'DEBUG';
  if (upper === 'FATAL' || upper === 'CRITICAL') return 'ERROR';
  return (LOG_LEVELS as readonly string[]).includes(upper ?? '') ? (upper as LogLevel) : undefined;
}

/** `Root=1-…;Parent=…;Sampled=1` → `1-…`. */
function traceIdOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const root = header.split(';').find((part) => part.startsWith('Root='));
  return root?.slice('Root='.length);
}

interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  cause?: ErrorRecord | string;
}

/** An Error as JSON (JSON.stringify would give `{}`); causes followed a few levels deep. */
function errorRecordOf(error: Error, depth = 0): ErrorRecord {
  const record: ErrorRecord = { name: error.name, message: error.message };
  if (error.stack !== undefined) record.stack = error.stack;
  if (error.cause !== undefined) {
    record.cause =
      error.cause instanceof Error && depth < 3
        ? errorRecordOf(error.cause, depth + 1)
        : String(error.cause);
  }
  return record;
}

export function createLogger(options: LoggerOptions): Logger {
  const configured = levelOf(options.level) ?? 'INFO';
  const lambda = levelOf(options.lambdaLevel);
  const level = lambda !== undefined && RANK[lambda] > RANK[configured] ? lambda : configured;
  const threshold = RANK[level];

  const log = (lineLevel: LineLevel, message: string, fields: LogFields | undefined): void => {
    if (RANK[lineLevel] < threshold) return;
    const record: Record<string, unknown> = {
      level: lineLevel,
      message,
      timestamp: new Date().toISOString(),
      service: options.service,
      xray_trace_id: traceIdOf(options.traceHeader?.()),
    };
    if (fields) {
      for (const key in fields) {
        const value = fields[key];
        record[key] = value instanceof Error ? errorRecordOf(value) : value;
      }
    }
    // Field values are strings, numbers, booleans and errors (typed so), which always serialize.
    options.write(`${JSON.stringify(record)}\n`);
  };

  return {
    level,
    debug: (message, fields) => log('DEBUG', message, fields),
    info: (message, fields) => log('INFO', message, fields),
    warn: (message, fields) => log('WARN', message, fields),
    error: (message, fields) => log('ERROR', message, fields),
  };
}

export const logger = createLogger({
  service: process.env.SERVICE_NAME ?? 'runpod-gateway',
  level: process.env.LOG_LEVEL,
  lambdaLevel: process.env.AWS_LAMBDA_LOG_LEVEL,
  // Looked up at each write, so that tests and the local runtime can capture stdout.
  write: (line) => process.stdout.write(line),
  traceHeader: () => process.env._X_AMZN_TRACE_ID,
});
