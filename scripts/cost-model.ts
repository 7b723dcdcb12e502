/**
 * What the gateway costs in AWS, from AWS's published on-demand prices (us-east-1) and the
 * gateway's own measured behaviour. `npm run cost` prints the tables docs/cost.md shows; a test
 * keeps the two the same. Change an assumption here, run it, and paste the output.
 */

/**
 * AWS's published prices, us-east-1, from each service's pricing page as last read (late 2025;
 * not re-read since: check them before quoting). docs/cost.md names the pages.
 */
export const PRICES = {
  /** API Gateway REST API, first 333 million requests a month, per request. */
  apiGatewayRestRequest: 3.5 / 1e6,
  /** Lambda requests. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda compute on arm64 (Graviton), first 7.5 billion GB-seconds a month. */
  lambdaArmGbSecond: 0.0000133334,
  /** DynamoDB on-demand: one write request unit (an item write up to 1 KB). */
  dynamoWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand: one read request unit (a consistent read up to 4 KB). */
  dynamoReadUnit: 0.125 / 1e6,
  /** Secrets Manager API calls. */
  secretsManagerCall: 0.05 / 10_000,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestionGb: 0.5,
  /** CloudWatch custom metrics, first 10 000, per metric a month. */
  metricMonth: 0.3,
  /** CloudWatch standard-resolution alarm, per month. */
  alarmMonth: 0.1,
  /** CloudWatch dashboard, per month (beyond the first three). */
  dashboardMonth: 3,
  /** Contributor Insights: per rule a month, and per million log events matched. */
  insightRuleMonth: 0.5,
  insightEventsMillion: 0.02,
  /** Secrets Manager: per secret a month. */
  secretMonth: 0.4,
} as const;

/** The gateway's behaviour behind each price: measured (docs/performance.md) or by design. */
export const ASSUMPTIONS = {
  /** The construct's default function memory. */
  memoryGb: 256 / 1024,
  /**
   * Billed duration of a call that waits for RunPod: RunPod's answer time dominates (the gateway
   * adds well under a millisecond warm, `npm run bench`). Typical RunPod latencies.
   */
  runSeconds: 0.15,
  statusSeconds: 0.08,
  /** Status polls a typical client makes per job (RunPod's SDKs poll until the end). */
  pollsPerJob: 10,
  /** DynamoDB writes per job: its record, its end, and the two index writes each makes. */
  writeUnitsPerJob: 2 + 2 + 2,
  /** One consistent read per follow-up. */
  readUnitsPerPoll: 1,
  /** One request log line and one metric line per request, about 0.45 KB and 0.55 KB. */
  logBytesPerRequest: 1_000,
  /** Contributor Insights rules matching each request line. */
  insightRules: 2,
  /** Secrets Manager calls: one batch read per cold start, a cold start every ~1 000 requests. */
  secretCallsPerRequest: 1 / 1_000,
  /** A streamed minute: one chunk a second, each a journal page (one write) and a poll. */
  streamChunksPerMinute: 60,
  /** An OpenAI-compatible request's billed duration (a chat answer, streamed or whole). */
  openAiSeconds: 4,
  /** Metrics kept: the totals and the breakdown of 3 surfaces × 8 operations in use. */
  metrics: 200,
  /** Alarms: errors and throttles of 15 functions, the sweep, 5XX, 6 latency, 3 metric alarms. */
  alarms: 2 * 15 + 1 + 1 + 6 + 3,
} as const;

export interface CostLine {
  readonly item: string;
  readonly usd: number;
}

function lambda(requests: number, seconds: number): CostLine[] {
  return [
    { item: 'Lambda requests', usd: requests * PRICES.lambdaRequest },
    {
      item: 'Lambda compute (arm64, 256 MB)',
      usd: requests * seconds * ASSUMPTIONS.memoryGb * PRICES.lambdaArmGbSecond,
    },
  ];
}

function perRequestOverheads(requests: number): CostLine[] {
  return [
    {
      item: 'CloudWatch Logs (request and metric lines)',
      usd: (requests * ASSUMPTIONS.logBytesPerRequest * PRICES.logsIngestionGb) / 1e9,
    },
    {
      item: 'Contributor Insights events',
      usd: (requests * ASSUMPTIONS.insightRules * PRICES.insightEventsMillion) / 1e6,
    },
    {
      item: 'Secrets Manager calls',
      usd: requests * ASSUMPTIONS.secretCallsPerRequest * PRICES.secretsManagerCall,
    },
  ];
}

/** A million jobs: a `run` each, `pollsPerJob` status polls, the end recorded once. */
export function perMillionJobs(): CostLine[] {
  const jobs = 1e6;
  const polls = jobs * ASSUMPTIONS.pollsPerJob;
  const requests = jobs + polls;
  return [
    { item: 'API Gateway REST requests', usd: requests * PRICES.apiGatewayRestRequest },
    ...lambda(jobs, ASSUMPTIONS.runSeconds).map((line) => ({ ...line, item: `${line.item}, run` })),
    ...lambda(polls, ASSUMPTIONS.statusSeconds).map((line) => ({
      ...line,
      item: `${line.item}, status`,
    })),
    {
      item: 'DynamoDB writes (record, end, indexes)',
      usd: jobs * ASSUMPTIONS.writeUnitsPerJob * PRICES.dynamoWriteUnit,
    },
    {
      item: 'DynamoDB reads (one per poll)',
      usd: polls * ASSUMPTIONS.readUnitsPerPoll * PRICES.dynamoReadUnit,
    },
    ...perRequestOverheads(requests),
  ];
}

/** A thousand minutes of SSE streams relaying a chunk a second (one stream a minute). */
export function perThousandStreamedMinutes(): CostLine[] {
  const minutes = 1_000;
  const chunks = minutes * ASSUMPTIONS.streamChunksPerMinute;
  return [
    { item: 'API Gateway REST requests', usd: minutes * PRICES.apiGatewayRestRequest },
    ...lambda(minutes, 60),
    { item: 'DynamoDB journal pages (one write a chunk)', usd: chunks * PRICES.dynamoWriteUnit },
    { item: 'DynamoDB lease and record reads', usd: minutes * 3 * PRICES.dynamoReadUnit },
    ...perRequestOverheads(minutes),
  ];
}

/** A million OpenAI-compatible requests (chat completions). */
export function perMillionOpenAiRequests(): CostLine[] {
  const requests = 1e6;
  return [
    { item: 'API Gateway REST requests', usd: requests * PRICES.apiGatewayRestRequest },
    ...lambda(requests, ASSUMPTIONS.openAiSeconds),
    { item: 'DynamoDB token counters (one write each)', usd: requests * PRICES.dynamoWriteUnit },
    ...perRequestOverheads(requests),
  ];
}

/** What the deployment costs a month whatever its traffic. */
export function fixedMonthly(): CostLine[] {
  return [
    {
      item: `CloudWatch metrics (${ASSUMPTIONS.metrics})`,
      usd: ASSUMPTIONS.metrics * PRICES.metricMonth,
    },
    {
      item: `CloudWatch alarms (${ASSUMPTIONS.alarms})`,
      usd: ASSUMPTIONS.alarms * PRICES.alarmMonth,
    },
    { item: 'CloudWatch dashboard', usd: PRICES.dashboardMonth },
    { item: 'Contributor Insights rules (2)', usd: 2 * PRICES.insightRuleMonth },
    { item: 'Secrets Manager secrets (2)', usd: 2 * PRICES.secretMonth },
    {
      item: 'Job sweep (every 5 min, 1 s)',
      usd: 8_640 * (PRICES.lambdaRequest + ASSUMPTIONS.memoryGb * PRICES.lambdaArmGbSecond),
    },
  ];
}

function table(title: string, lines: readonly CostLine[]): string {
  const total = lines.reduce((sum, line) => sum + line.usd, 0);
  const money = (usd: number) => `$${usd.toFixed(usd >= 0.01 || usd === 0 ? 2 : 4)}`;
  return [
    `### ${title}`,
    '',
    '| item | USD |',
    '|---|---|',
    ...lines.map((line) => `| ${line.item} | ${money(line.usd)} |`),
    `| **total** | **${money(total)}** |`,
  ].join('\n');
}

/** The tables docs/cost.md shows. */
export function costReport(): string {
  return [
    table('Per million jobs (a run and 10 status polls each)', perMillionJobs()),
    table('Per 1 000 streamed minutes (SSE, a chunk a second)', perThousandStreamedMinutes()),
    table(
      'Per million OpenAI-compatible requests (4 s chat completions)',
      perMillionOpenAiRequests(),
    ),
    table('Fixed, per month', fixedMonthly()),
  ].join('\n\n');
}

if (import.meta.main) console.log(costReport());
