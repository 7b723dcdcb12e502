import {
  JOURNAL_KEY_PREFIX,
  LEASE_KEY_PREFIX,
  LEDGER_TABLE,
} from '../../functions/ledger/ledger-table.ts';
import { startLedgerEngine } from '../../local/ledger-engine.ts';
import { startDynamoDbProxy } from '../../test/helpers/dynamodb-proxy.ts';

/**
 * The embedded DynamoDB-compatible engine in its own process for the bench, behind a proxy that
 * counts what the gateway asks of it: requests by operation, and writes by the kind of item they
 * touch (stream journal pages, relay leases, anything else). Prints its endpoint and answers
 * `{ id, type: 'stats' }` messages on the IPC channel.
 */
export interface LedgerStats {
  readonly requests: Record<string, number>;
  /** PutItem and BatchWriteItem requests, by the key prefix of what they write. */
  readonly writes: { journal: number; lease: number; other: number };
}

const engine = await startLedgerEngine();
const stats: LedgerStats = { requests: {}, writes: { journal: 0, lease: 0, other: 0 } };

function kindOf(body: string): keyof LedgerStats['writes'] {
  const key = /"pk":\{"S":"([^"]*)"/.exec(body)?.[1] ?? '';
  if (key.startsWith(JOURNAL_KEY_PREFIX)) return 'journal';
  if (key.startsWith(LEASE_KEY_PREFIX)) return 'lease';
  return 'other';
}

const proxy = await startDynamoDbProxy(engine.endpoint, {
  observe: (operation, body) => {
    stats.requests[operation] = (stats.requests[operation] ?? 0) + 1;
    if (operation === 'PutItem' || operation === 'BatchWriteItem') stats.writes[kindOf(body)]++;
  },
});
process.on('message', (message: { id: number; type: string }) => {
  if (message.type === 'stats') process.send?.({ id: message.id, stats });
});
console.log(`ledger engine listening at ${proxy.endpoint} (key ${LEDGER_TABLE.partitionKey})`);
process.once('SIGTERM', () => {
  proxy.close().finally(() => engine.close().finally(() => process.exit(0)));
});
