/**
 * The ledger table's layout, shared by the functions, the CDK construct and the local runtime.
 * One table per deployment; every item is addressed by its partition key alone.
 */
export const LEDGER_TABLE = {
  /**
   * Partition key (string): `job#<jobId>` for job records, `idempotency#…` for idempotency
   * records, `journal#<jobId>#<page>` (and `…#<nonce>#<part>`) for stream journal pages,
   * `lease#<jobId>` for a stream's relay lease, `rate#<keyId>#<operation>` for per-key rates,
   * `quota#<keyId>#<day>`, `conc#<keyId>#<slot>` and `flight#<keyId>` for the other key limits.
   */
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB's TTL deletes items some time after it passes. */
  timeToLive: 'expiresAt',
  /**
   * Job records by owner and submission time (sparse: only job records have an owner), for usage
   * reports: a key's jobs of a day are one Query, and the hot path writes nothing more.
   */
  ownerIndex: {
    name: 'byOwner',
    partitionKey: 'ownerKeyId',
    sortKey: 'createdAt',
    /** Besides the keys: what a usage report reads. */
    attributes: [
      'jobId',
      'surface',
      'model',
      'endpointId',
      'status',
      'executionTime',
      'delayTime',
      // Token counters (`tokens#…`) of the OpenAI-compatible routes share the index.
      'openaiRequests',
      'promptTokens',
      'completionTokens',
    ],
  },
  /**
   * Job records whose end the gateway has not seen, by shard and submission time (sparse: the
   * shard attribute is set when a job is recorded without an end and removed when its end is),
   * for the sweep that reads the end of jobs nobody polled to it. Keys only: the sweep reads
   * each record itself.
   */
  unfinishedIndex: {
    name: 'unfinished',
    partitionKey: 'unfinishedShard',
    sortKey: 'createdAt',
    /** Shards spread the index's writes (one per submission, one per end) over partitions. */
    shards: 16,
  },
} as const;

/**
 * Where `Idempotency-Key` records start (`idempotency#run#<hash>`): the construct lets the
 * submitting functions touch only items under it, besides writing job records.
 */
export const IDEMPOTENCY_KEY_PREFIX = 'idempotency#';

export function jobKeyOf(jobId: string): string {
  return `job#${jobId}`;
}

/** Where stream journal items start; the construct lets the stream function write only these and leases. */
export const JOURNAL_KEY_PREFIX = 'journal#';
export const LEASE_KEY_PREFIX = 'lease#';
/** Per-key request rate counters; every function may update only these (and what its route uses). */
export const RATE_KEY_PREFIX = 'rate#';
/** Per-key daily quota counters; the submitting functions may update these. */
export const QUOTA_KEY_PREFIX = 'quota#';
/** Per-key concurrency slots; the long-running functions may put and delete these. */
export const CONCURRENCY_KEY_PREFIX = 'conc#';
/** Per-key token counters of the OpenAI-compatible routes, per day, surface and model. */
export const TOKENS_KEY_PREFIX = 'tokens#';
/** Per-key jobs-in-flight counters; the submitting and job-following functions may update these. */
export const IN_FLIGHT_KEY_PREFIX = 'flight#';

export function journalPageKeyOf(jobId: string, page: number): string {
  return `${JOURNAL_KEY_PREFIX}${jobId}#${page}`;
}

/** Where the second and later parts of a page too large for one item go. */
export function journalPartKeyOf(jobId: string, page: number, nonce: string, part: number): string {
  return `${JOURNAL_KEY_PREFIX}${jobId}#${page}#${nonce}#${part}`;
}

export function streamLeaseKeyOf(jobId: string): string {
  return `${LEASE_KEY_PREFIX}${jobId}`;
}

export function rateKeyOf(keyId: string, operation: string): string {
  return `${RATE_KEY_PREFIX}${keyId}#${operation}`;
}

export function quotaKeyOf(keyId: string, day: string): string {
  return `${QUOTA_KEY_PREFIX}${keyId}#${day}`;
}

export function concurrencyKeyOf(keyId: string, slot: number): string {
  return `${CONCURRENCY_KEY_PREFIX}${keyId}#${slot}`;
}

export function inFlightKeyOf(keyId: string): string {
  return `${IN_FLIGHT_KEY_PREFIX}${keyId}`;
}

/** The unfinished-index shard of a job: spread by its id, so any instance computes the same one. */
export function unfinishedShardOf(jobId: string): string {
  let hash = 0;
  for (let index = 0; index < jobId.length; index++) {
    hash = (hash * 31 + jobId.charCodeAt(index)) | 0;
  }
  return String(Math.abs(hash) % LEDGER_TABLE.unfinishedIndex.shards);
}

/** The job id of a job record's partition key. */
export function jobIdOfKey(key: string): string | undefined {
  return key.startsWith('job#') ? key.slice('job#'.length) : undefined;
}

/** A key's token counter for one UTC day (`YYYY-MM-DD`), surface and model. */
export function tokensKeyOf(keyId: string, day: string, surface: string, model: string): string {
  return `${TOKENS_KEY_PREFIX}${keyId}#${day}#${surface}#${encodeURIComponent(model)}`;
}
