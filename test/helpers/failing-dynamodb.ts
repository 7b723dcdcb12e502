import { startDynamoDbProxy } from './dynamodb-proxy.ts';

export interface FailingDynamoDb {
  /** `http://127.0.0.1:<port>`: the engine behind it, or a failure for the chosen operations. */
  readonly endpoint: string;
  /** DynamoDB operations (`PutItem`, `GetItem`, …) answered with a 500 until changed. */
  failing: ReadonlySet<string>;
  /** Requests answered with a failure so far, by operation. */
  readonly failures: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A DynamoDB endpoint that forwards to a real engine, except for the operations it is told to
 * fail: a table outage as the functions see it (see `dynamodb-proxy.ts`).
 */
export async function startFailingDynamoDb(engineEndpoint: string): Promise<FailingDynamoDb> {
  const failures = new Map<string, number>();
  let failing: ReadonlySet<string> = new Set();
  const proxy = await startDynamoDbProxy(engineEndpoint, {
    fails: (operation) => {
      if (!failing.has(operation)) return false;
      failures.set(operation, (failures.get(operation) ?? 0) + 1);
      return true;
    },
  });
  return {
    endpoint: proxy.endpoint,
    get failing() {
      return failing;
    },
    set failing(operations: ReadonlySet<string>) {
      failing = operations;
    },
    failures,
    close: () => proxy.close(),
  };
}
