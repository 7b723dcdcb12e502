/**
 * The ledger table's layout, shared by the functions, the CDK construct and the local runtime.
 * One table per deployment; every item is addressed by its partition key alone.
 */
export const LEDGER_TABLE = {
  /** Partition key (string): `job#<jobId>` for job records, `idempotency#…` for idempotency records. */
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB's TTL deletes items some time after it passes. */
  timeToLive: 'expiresAt',
} as const;

/**
 * Where `Idempotency-Key` records start (`idempotency#run#<hash>`): the construct lets the
 * submitting functions touch only items under it, besides writing job records.
 */
export const IDEMPOTENCY_KEY_PREFIX = 'idempotency#';

export function jobKeyOf(jobId: string): string {
  return `job#${jobId}`;
}
