import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEDGER_TABLE } from '../../functions/ledger/ledger-table.ts';
import type { Operation } from '../../functions/routes.ts';

/**
 * The DynamoDB actions each function uses on the ledger, and no others. `routes.ts` says which
 * operations record or look up jobs; a test keeps the two in step.
 */
export const LEDGER_ACTIONS: Readonly<Record<Operation, readonly string[]>> = {
  run: ['dynamodb:PutItem'],
  // Records the job, with its outcome when it came back finished, in one write.
  runsync: ['dynamodb:PutItem'],
  // Look the job up, and record its outcome when they see it end.
  status: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  'status-sync': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  stream: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  cancel: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Looks the job up, then forgets its earlier outcome.
  retry: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  'purge-queue': [],
  health: [],
};

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
    this.table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: LEDGER_TABLE.timeToLive,
      removalPolicy: props.removalPolicy,
    });
  }

  /** The statement letting one operation's function use the ledger as it needs; none if it does not. */
  statementFor(operation: Operation): PolicyStatement | undefined {
    const actions = LEDGER_ACTIONS[operation];
    if (actions.length === 0) return undefined;
    return new PolicyStatement({
      sid: 'UseJobLedger',
      effect: Effect.ALLOW,
      actions: [...actions],
      resources: [this.table.tableArn],
    });
  }
}
