/**
 * The job ledger: what the gateway remembers of each job it submitted — who owns it, where it
 * runs, when it ends — so follow-up calls can be routed and refused without asking RunPod.
 * `dynamodb-job-ledger.ts` keeps it in the deployment's DynamoDB table.
 */

/** A job as the gateway recorded it when RunPod returned its id. */
export interface JobRecord {
  readonly jobId: string;
  /** The id of the consumer key that submitted it (not its digest: a rotated token keeps access). */
  readonly ownerKeyId: string;
  readonly surface: string;
  /** `input.model` or `?model=` of the submission, when one was given. */
  readonly model?: string | undefined;
  /** The RunPod endpoint the job runs on. */
  readonly endpointId: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch seconds after which the record is gone (DynamoDB's TTL attribute). */
  readonly expiresAt: number;
  /** Set once, when the gateway first sees the job end. */
  readonly outcome?: JobOutcome | undefined;
  /** What the owner's limits counted at submission, for the job's end to settle. */
  readonly counted?: JobCounts | undefined;
}

/** Per-key counters a job was counted in when submitted (see `limits/job-limits.ts`). */
export interface JobCounts {
  /** The owner's jobs in flight (`limits.inFlight`). */
  readonly inFlight?: boolean;
  /** The owner's daily GPU time (`limits.daily.gpuSeconds`). */
  readonly gpuTime?: boolean;
}

/** A job's end as RunPod reported it. */
export interface JobOutcome {
  readonly status: string;
  /** RunPod's `executionTime`, ms: what the GPU time is billed on. */
  readonly executionTime?: number | undefined;
  /** RunPod's `delayTime`, ms in the queue. */
  readonly delayTime?: number | undefined;
  /** Epoch ms when the gateway saw the terminal status. */
  readonly endedAt: number;
}

export interface JobLedger {
  /** Records a job once; a record that already exists is left as it is. */
  record(job: JobRecord): Promise<void>;
  /** The job's record, read consistently; undefined when unknown or expired. */
  find(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Records how the job ended, once; false when it was already recorded or the job is unknown.
   * With `replacing`, records the end of a rerun (`/retry`) over that earlier outcome instead,
   * if it is still the one recorded.
   */
  recordOutcome(jobId: string, outcome: JobOutcome, replacing?: JobOutcome): Promise<boolean>;
}

/** The ledger could not be read or written. */
export class LedgerUnavailableError extends Error {
  override name = 'LedgerUnavailableError';
}

const HOUR_MS = 3_600_000;
/** RunPod's default `policy.ttl`: a job lives at most 24 h in queue and execution. */
export const RUNPOD_DEFAULT_TTL_MS = 24 * HOUR_MS;
/** How long RunPod keeps a finished job's result: 30 min after `/run`, 1 min after `/runsync`. */
const RESULT_RETENTION_MS = { run: 30 * 60_000, runsync: 60_000 } as const;
/** Kept beyond RunPod's own horizon, so a late poll still finds the record and its owner. */
const MARGIN_MS = HOUR_MS;

/**
 * When a job's record may go: RunPod forgets the job after its `policy.ttl` (or 24 h) plus the
 * result's retention, so the record outlives it by a margin.
 */
export function expiryOf(
  submittedAt: number,
  operation: 'run' | 'runsync',
  ttlMs: number | undefined,
): number {
  const until =
    submittedAt + (ttlMs ?? RUNPOD_DEFAULT_TTL_MS) + RESULT_RETENTION_MS[operation] + MARGIN_MS;
  return Math.ceil(until / 1000);
}
