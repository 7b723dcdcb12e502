import { parseArgs } from 'node:util';
import { DynamoDbJobLedger } from '../functions/ledger/dynamodb-job-ledger.ts';
import { type UsageRow, usageReport } from '../functions/ledger/usage-report.ts';
import { readKeyStoreFile } from './key-file.ts';
import { LOCAL_LEDGER_TABLE, useLocalAwsDefaults } from './ledger-engine.ts';
import { DEFAULT_KEYS_FILE } from './local-settings.ts';

const USAGE = `Usage:
  npm run usage -- [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--keys a,b] [--format table|json|csv]
                   [--endpoint <url> | --aws] [--table <name>] [--file <key store>]

Jobs per key, surface and day (UTC, by submission), with how they ended, GPU-seconds (RunPod's
executionTime) and queue-seconds (delayTime), from the job ledger.
--from/--to are inclusive days (default: the last 7 days, today included).
--keys defaults to every key id in the key store (--file, $GATEWAY_KEYS_FILE or ${DEFAULT_KEYS_FILE}).
--endpoint reads a DynamoDB-compatible engine (default $DYNAMODB_ENDPOINT: the engine npm start
prints); --aws reads the deployed table (--table: the stack's JobLedgerTableName output) with
your AWS credentials and region.`;

const DAY_MS = 86_400_000;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function dayOf(option: string, text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    fail(`${option} takes a day as YYYY-MM-DD, got "${text}"`);
  }
  return Date.parse(`${text}T00:00:00Z`);
}

const COLUMNS: readonly (keyof UsageRow)[] = [
  'day',
  'keyId',
  'surface',
  'submitted',
  'completed',
  'failed',
  'cancelled',
  'timedOut',
  'unfinished',
  'gpuSeconds',
  'queueSeconds',
];

function csvOf(rows: readonly UsageRow[]): string {
  const cell = (value: string | number) =>
    typeof value === 'string' && /[",\n]/.test(value)
      ? `"${value.replaceAll('"', '""')}"`
      : String(value);
  return [
    COLUMNS.join(','),
    ...rows.map((row) => COLUMNS.map((column) => cell(row[column])).join(',')),
  ].join('\n');
}

function tableOf(rows: readonly UsageRow[]): string {
  const cells = [
    COLUMNS as readonly string[],
    ...rows.map((row) => COLUMNS.map((column) => String(row[column]))),
  ];
  const widths = COLUMNS.map((_, index) =>
    Math.max(...cells.map((line) => line[index]?.length ?? 0)),
  );
  return cells
    .map((line) =>
      line
        .map((cell, index) => cell.padEnd(widths[index] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      keys: { type: 'string' },
      format: { type: 'string', default: 'table' },
      endpoint: { type: 'string' },
      aws: { type: 'boolean', default: false },
      table: { type: 'string' },
      file: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!['table', 'json', 'csv'].includes(values.format)) fail(`Unknown --format ${values.format}`);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const from = values.from === undefined ? today - 6 * DAY_MS : dayOf('--from', values.from);
  const to = (values.to === undefined ? today : dayOf('--to', values.to)) + DAY_MS;
  if (to <= from) fail('--to is before --from');
  const endpoint = values.aws ? undefined : (values.endpoint ?? process.env.DYNAMODB_ENDPOINT);
  if (!values.aws && endpoint === undefined) {
    fail('Say where the ledger is: --endpoint <url> (npm start prints it) or --aws --table <name>');
  }
  if (values.aws && values.table === undefined) fail('--aws needs --table (JobLedgerTableName)');
  if (!values.aws) useLocalAwsDefaults();
  const tableName = values.table ?? process.env.LEDGER_TABLE ?? LOCAL_LEDGER_TABLE;
  const keyIds =
    values.keys === undefined
      ? [
          ...new Set(
            (
              await readKeyStoreFile(
                values.file ?? process.env.GATEWAY_KEYS_FILE ?? DEFAULT_KEYS_FILE,
              )
            ).keys.map((key) => key.id),
          ),
        ]
      : values.keys
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '');
  const ledger = new DynamoDbJobLedger({ tableName, endpoint });
  let rows: UsageRow[];
  try {
    rows = await usageReport({ access: () => ledger.access(), tableName, keyIds, from, to });
  } catch (error) {
    console.error(
      `Cannot read the ledger table ${tableName}: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  if (values.format === 'json') console.log(JSON.stringify(rows, null, 2));
  else if (values.format === 'csv') console.log(csvOf(rows));
  else console.log(rows.length === 0 ? 'No jobs in that period.' : tableOf(rows));
  (await ledger.client()).destroy();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
