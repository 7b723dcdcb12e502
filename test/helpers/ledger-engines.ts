import {
  ensureLedgerTable,
  startLedgerEngine,
  useLocalAwsDefaults,
} from '../../local/ledger-engine.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';

export interface StartedEngine {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * The DynamoDB-compatible engines the ledger's store is tested on: the embedded one `npm start`
 * runs (dynalite) and AWS's own DynamoDB Local, which implements what dynalite ignores (TTL
 * settings, condition-failure return values).
 */
export const LEDGER_ENGINES = [
  { name: 'the embedded engine (dynalite)', start: startLedgerEngine },
  { name: 'DynamoDB Local', start: startDynamoDbLocal },
] as const;

/** Starts an engine with the ledger table created as the construct defines it. */
export async function startEngineWithTable(
  start: () => Promise<StartedEngine>,
  tableName: string,
): Promise<StartedEngine> {
  useLocalAwsDefaults();
  const engine = await start();
  await ensureLedgerTable(engine.endpoint, tableName);
  return engine;
}
