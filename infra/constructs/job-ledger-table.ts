import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  CONCURRENCY_KEY_PREFIX,
  IDEMPOTENCY_KEY_PREFIX,
  IN_FLIGHT_KEY_PREFIX,
  JOURNAL_KEY_PREFIX,
  LEASE_KEY_PREFIX,
  LEDGER_TABLE,
  QUOTA_KEY_PREFIX,
  RATE_KEY_PREFIX,
  TOKENS_KEY_PREFIX,
} from '../../functions/ledger/ledger-table.ts';
import { LONG_RUNNING_OPERATIONS, type Operation, routeFor } from '../../functions/routes.ts';

/**
 * The DynamoDB actions each function uses on the ledger, and no others. `routes.ts` says which
 * operations record or look up jobs; a test keeps the two in step.
 */
export const LEDGER_ACTIONS: Readonly<Record<Operation, readonly string[]>> = {
  // Record the job (with its outcome, when runsync came back finished, in the same write).
  run: ['dynamodb:PutItem'],
  runsync: ['dynamodb:PutItem'],
  // Look the job up, and record its outcome when they see it end.
  status: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  'status-sync': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  stream: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  cancel: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Looks the job up; the rerun's end is recorded by the follow-ups that see it.
  retry: ['dynamodb:GetItem'],
  'purge-queue': [],
  health: [],
  // Reads job records by owner, from the byOwner index only.
  usage: ['dynamodb:Query'],
  // No job records: their token counters only (CountKeyRates).
  'openai-chat': [],
  'openai-completions': [],
  'openai-embeddings': [],
  'openai-models': [],
  openapi: [],
};

/**
 * What Powertools' idempotency utility does with its records (`Idempotency-Key` on run and
 * runsync), allowed on those records' keys only (`idempotency#…`), so a submitting function can
 * neither read nor delete job records.
 */
export const IDEMPOTENCY_ACTIONS: Readonly<Partial<Record<Operation, readonly string[]>>> = {
  run: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  runsync: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
};

/**
 * What the stream function does with the stream journal (pages written by conditional puts, with
 * any extra parts in batches; read in batches) and the relay lease (put; deleted when a relay
 * stops early), allowed on those items' keys only (`journal#…`, `lease#…`): it cannot create or
 * delete job records.
 */
export const JOURNAL_ACTIONS: Readonly<Partial<Record<Operation, readonly string[]>>> = {
  stream: [
    'dynamodb:BatchGetItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:PutItem',
  ],
};

/**
 * What every function may do with per-key rate counters (`rate#…`; see
 * `functions/limits/rate-limiter.ts`): update them conditionally and read one on a refusal; the
 * functions that submit or follow jobs also keep daily quota (`quota#…`) and jobs-in-flight
 * (`flight#…`) counters.
 */
export const RATE_LIMIT_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/** What the long-running functions do with per-key concurrency slots (`conc#…`). */
export const CONCURRENCY_ACTIONS: readonly string[] = ['dynamodb:DeleteItem', 'dynamodb:PutItem'];

/** The counter items an operation's function may update (see `CountKeyRates`). */
function counterKeysOf(operation: Operation): string[] {
  const route = routeFor(operation);
  // A token-counting route counts what its answers used (models answers report none).
  if (route.openAi) {
    return operation === 'openai-models'
      ? [`${RATE_KEY_PREFIX}*`]
      : [`${RATE_KEY_PREFIX}*`, `${TOKENS_KEY_PREFIX}*`];
  }
  if (route.ledger === 'none') return [`${RATE_KEY_PREFIX}*`];
  return [`${RATE_KEY_PREFIX}*`, `${QUOTA_KEY_PREFIX}*`, `${IN_FLIGHT_KEY_PREFIX}*`];
}

export interface JobLedgerTableProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The job ledger: one on-demand table per deployment (which key owns which job, on which
 * endpoint, how it ended), with point-in-time recovery, encryption at rest and a TTL attribute,
 * so records leave on their own once RunPod has forgotten the job.
 */
export class JobLedgerTable extends Construct {
  readonly table: ITable;

  constructor(scope: Construct, id: string, props: JobLedgerTableProps) {
    super(scope, id);
    const table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: LEDGER_TABLE.timeToLive,
      removalPolicy: props.removalPolicy,
    });
    const index = LEDGER_TABLE.ownerIndex;
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...index.attributes],
    });
    const unfinished = LEDGER_TABLE.unfinishedIndex;
    table.addGlobalSecondaryIndex({
      indexName: unfinished.name,
      partitionKey: { name: unfinished.partitionKey, type: AttributeType.STRING },
      sortKey: { name: unfinished.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.table = table;
  }

  /**
   * The sweep's: list unfinished jobs (the `unfinished` index), read and end their records, and
   * settle their owners' quotas and jobs in flight — what the status function does, by index.
   */
  sweepStatements(): PolicyStatement[] {
    return [
      ...this.statementsFor('status').filter((statement) => statement.sid !== 'HoldKeySlots'),
      new PolicyStatement({
        sid: 'ListUnfinishedJobs',
        effect: Effect.ALLOW,
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${LEDGER_TABLE.unfinishedIndex.name}`],
      }),
    ];
  }

  /** The statements letting one operation's function use the table as it needs. */
  statementsFor(operation: Operation): PolicyStatement[] {
    const statements: PolicyStatement[] = [];
    const actions = LEDGER_ACTIONS[operation];
    if (actions.length > 0) {
      statements.push(
        new PolicyStatement({
          sid: 'UseJobLedger',
          effect: Effect.ALLOW,
          actions: [...actions],
          resources: [
            routeFor(operation).ledger === 'report'
              ? `${this.table.tableArn}/index/${LEDGER_TABLE.ownerIndex.name}`
              : this.table.tableArn,
          ],
        }),
      );
    }
    const idempotency = IDEMPOTENCY_ACTIONS[operation];
    if (idempotency !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: 'KeepIdempotencyRecords',
          effect: Effect.ALLOW,
          actions: [...idempotency],
          resources: [this.table.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${IDEMPOTENCY_KEY_PREFIX}*`] },
          },
        }),
      );
    }
    const journal = JOURNAL_ACTIONS[operation];
    if (journal !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: 'KeepStreamJournal',
          effect: Effect.ALLOW,
          actions: [...journal],
          resources: [this.table.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`${JOURNAL_KEY_PREFIX}*`, `${LEASE_KEY_PREFIX}*`],
            },
          },
        }),
      );
    }
    statements.push(
      new PolicyStatement({
        sid: 'CountKeyRates',
        effect: Effect.ALLOW,
        actions: [...RATE_LIMIT_ACTIONS],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            // …and the functions that submit or follow jobs count them against the owner's
            // daily quotas and jobs in flight (a job's end settles both).
            'dynamodb:LeadingKeys': counterKeysOf(operation),
          },
        },
      }),
    );
    if (LONG_RUNNING_OPERATIONS.has(operation)) {
      statements.push(
        new PolicyStatement({
          sid: 'HoldKeySlots',
          effect: Effect.ALLOW,
          actions: [...CONCURRENCY_ACTIONS],
          resources: [this.table.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`${CONCURRENCY_KEY_PREFIX}*`],
            },
          },
        }),
      );
    }
    return statements;
  }
}
