import { parseArgs } from 'node:util';
import { DynamoDbJobLedger } from '../functions/ledger/dynamodb-job-ledger.ts';
import {
  USAGE_COUNT_FIELDS,
  type UsageRow,
  usageReport,
} from '../functions/ledger/usage-report.ts';
import { FileKeyStore } from './keys/file-key-store.ts';
import type { KeyDocumentStore } from './keys/key-document-store.ts';
import { SecretKeyStore } from './keys/secret-key-store.ts';
import { DEFAULT_STACK_NAME, stackOutputsOf } from './keys/stack-outputs.ts';
import { LOCAL_LEDGER_TABLE, useLocalAwsDefaults } from './ledger-engine.ts';
import { DEFAULT_KEYS_FILE } from './local-settings.ts';

const USAGE = `Usage:
  npm run usage -- [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--keys a,b] [--format table|json|csv]
                   [--endpoint <url> | --aws [--stack <name>] [--table <name>]] [--file <key store>]

Jobs per key, surface and day (UTC, by submission), with how they ended, GPU-seconds (RunPod's
executionTime) and queue-seconds (delayTime), from the job ledger.
--from/--to are inclusive days (default: the last 7 days, today included).
--keys defaults to every key id in the key store (--file, $GATEWAY_KEYS_FILE or ${DEFAULT_KEYS_FILE};
with --aws, the deployed key store).
--endpoint reads a DynamoDB-compatible engine (default $DYNAMODB_ENDPOINT: the engine npm start
prints); --aws reads the deployed table with your AWS credentials and region: the stack's
JobLedgerTableName output (--stack, default ${DEFAULT_STACK_NAME}), or --table.`;

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

const COLUMNS: readonly Exclude<keyof UsageRow, 'tokensByModel'>[] = [
  'day',
  'keyId',
  'surface',
  ...USAGE_COUNT_FIELDS,
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
      stack: { type: 'string' },
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
  if (!values.aws) useLocalAwsDefaults();
  // The deployed stack's outputs, when the table or the key store must come from them.
  const outputs =
    values.aws && (values.table === undefined || values.keys === undefined)
      ? await stackOutputsOf(values.stack ?? DEFAULT_STACK_NAME).catch((error: unknown) => {
          console.error(
            `Cannot read stack ${values.stack ?? DEFAULT_STACK_NAME}'s outputs (or give --table and --keys): ${error instanceof Error ? error.message : String(error)}`,
          );
          process.exit(1);
        })
      : {};
  const tableName =
    values.table ??
    (values.aws ? outputs.JobLedgerTableName : undefined) ??
    process.env.LEDGER_TABLE ??
    LOCAL_LEDGER_TABLE;
  let keyIds: string[];
  if (values.keys === undefined) {
    const secret = outputs.KeyStoreSecretArn;
    const store: KeyDocumentStore =
      values.aws && secret !== undefined
        ? new SecretKeyStore(secret)
        : new FileKeyStore(values.file ?? process.env.GATEWAY_KEYS_FILE ?? DEFAULT_KEYS_FILE);
    keyIds = [...new Set((await store.read()).keys.map((key) => key.id))];
  } else {
    keyIds = values.keys
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
  }
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
