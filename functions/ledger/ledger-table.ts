/**
 * The ledger table's layout, shared by the functions, the CDK construct and the local runtime.
 * One table per deployment; every item is addressed by its partition key alone.
 */
export const LEDGER_TABLE = {
  /** Partition key (string): `job#<jobId>` for job records. */
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB's TTL deletes items some time after it passes. */
  timeToLive: 'expiresAt',
} as const;

export function jobKeyOf(jobId: string): string {
  return `job#${jobId}`;
}
