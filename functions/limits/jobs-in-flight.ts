import { inFlightKeyOf } from '../ledger/ledger-table.ts';
import { addToCounter, type CounterTable } from './table-counter.ts';

/**
 * A key's jobs in flight (`limits.inFlight`): one counter item per key (`flight#<keyId>`),
 * raised by one conditional increment when a job is submitted and lowered when the gateway first
 * sees the job end (on any follow-up, or the sweep of jobs nobody polled to their end), never
 * below zero. Only jobs submitted while the key had the limit are counted (their records say so).
 */
export class DynamoDbJobsInFlight {
  readonly #table: CounterTable;

  constructor(table: CounterTable) {
    this.#table = table;
  }

  /** Counts one more job in flight; false when `max` are. */
  take(keyId: string, max: number): Promise<boolean> {
    return addToCounter(this.#table, {
      key: inFlightKeyOf(keyId),
      add: { jobs: 1 },
      below: { jobs: max },
      what: 'jobs in flight',
    });
  }

  /** One job fewer in flight (it ended, or its submission failed). */
  async release(keyId: string): Promise<void> {
    await addToCounter(this.#table, {
      key: inFlightKeyOf(keyId),
      add: { jobs: -1 },
      above: { jobs: 0 },
      what: 'jobs in flight',
    });
  }
}
