import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  JOURNAL_KEY_PREFIX,
  LEASE_KEY_PREFIX,
  LEDGER_TABLE,
} from '../../functions/ledger/ledger-table.ts';
import { startLedgerEngine } from '../../local/ledger-engine.ts';

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
const target = new URL(engine.endpoint);
const stats: LedgerStats = { requests: {}, writes: { journal: 0, lease: 0, other: 0 } };

function kindOf(body: string): keyof LedgerStats['writes'] {
  const key = /"pk":\{"S":"([^"]*)"/.exec(body)?.[1] ?? '';
  if (key.startsWith(JOURNAL_KEY_PREFIX)) return 'journal';
  if (key.startsWith(LEASE_KEY_PREFIX)) return 'lease';
  return 'other';
}

const server = createServer((request, response) => {
  const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  stats.requests[operation] = (stats.requests[operation] ?? 0) + 1;
  const parts: Buffer[] = [];
  request.on('data', (part: Buffer) => parts.push(part));
  request.on('end', () => {
    const body = Buffer.concat(parts);
    if (operation === 'PutItem' || operation === 'BatchWriteItem') {
      stats.writes[kindOf(body.toString('utf8'))]++;
    }
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: request.url,
        method: request.method,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    upstream.end(body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
process.on('message', (message: { id: number; type: string }) => {
  if (message.type === 'stats') process.send?.({ id: message.id, stats });
});
console.log(
  `ledger engine listening at http://127.0.0.1:${(server.address() as AddressInfo).port} (key ${LEDGER_TABLE.partitionKey})`,
);
process.once('SIGTERM', () => {
  server.close();
  engine.close().finally(() => process.exit(0));
});
