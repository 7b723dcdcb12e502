import { logger } from '../observability/logger.ts';
import { jobId as jobIdSchema } from '../routing/identifiers.ts';
import type { RunPodAnswer } from '../runpod/client.ts';
import { RunPodInvalidResponseError } from '../runpod/errors.ts';
import { isTerminal } from '../runpod/job-status.ts';
import type { RunPodSession } from '../runpod/runpod-session.ts';
import {
  expiryOf,
  type JobCounts,
  type JobLedger,
  type JobOutcome,
  type JobRecord,
  LedgerUnavailableError,
} from './job-ledger.ts';
import { outcomeOf } from './job-outcomes.ts';

/**
 * A submitted job could not be recorded, so the gateway cancelled it at RunPod rather than leave
 * a paid job its owner cannot reach (every follow-up call needs the record).
 */
export class JobNotRecordedError extends LedgerUnavailableError {
  override name = 'JobNotRecordedError';
  readonly jobId: string;
  /** Whether RunPod confirmed the cancel; if not, the job may still run. */
  readonly cancelled: boolean;

  constructor(jobId: string, cancelled: boolean, cause: unknown) {
    super(`Job ${jobId} could not be recorded`, { cause });
    this.jobId = jobId;
    this.cancelled = cancelled;
  }
}

export interface Submission {
  readonly ledger: JobLedger;
  readonly session: RunPodSession;
  readonly operation: 'run' | 'runsync';
  readonly answer: RunPodAnswer;
  readonly ownerKeyId: string;
  readonly surface: string;
  readonly model: string | undefined;
  readonly endpointId: string;
  /** The job's `policy.ttl`, if the body set one. */
  readonly ttlMs: number | undefined;
  readonly requestId: string;
  /** What the owner's limits counted for this job. */
  readonly counted: JobCounts;
  /** Settles what was counted when the job is recorded already ended (a finished runsync). */
  readonly onEnd: (job: JobRecord, outcome: JobOutcome) => Promise<void>;
}

/**
 * Records a job RunPod just accepted. The DynamoDB client already retries throttling and
 * server errors; when the record still cannot be written:
 * - a `runsync` that came back finished is answered anyway (its owner has the result in hand,
 *   and RunPod drops it a minute later), with an ERROR log line;
 * - otherwise the job is cancelled at RunPod and the caller gets 503 `ledger_unavailable`: a job
 *   nobody can poll, stream or cancel through the gateway would run and bill unseen.
 */
export async function recordSubmission(submission: Submission): Promise<void> {
  const { answer, requestId } = submission;
  const id = answer.json.id;
  if (typeof id !== 'string' || !jobIdSchema.safeParse(id).success) {
    throw new RunPodInvalidResponseError('RunPod accepted the job without a usable job id');
  }
  const submittedAt = Date.now();
  const job: JobRecord = {
    jobId: id,
    ownerKeyId: submission.ownerKeyId,
    surface: submission.surface,
    model: submission.model,
    endpointId: submission.endpointId,
    createdAt: submittedAt,
    expiresAt: expiryOf(submittedAt, submission.operation, submission.ttlMs),
    // A runsync that came back finished is recorded with its outcome, in the same write.
    outcome: outcomeOf(answer.json),
    counted: submission.counted,
  };
  try {
    await submission.ledger.record(job);
  } catch (error) {
    const status = answer.json.status;
    if (submission.operation === 'runsync' && typeof status === 'string' && isTerminal(status)) {
      logger.error('finished runsync job not recorded; answered anyway', {
        requestId,
        jobId: id,
        error: error instanceof Error ? error : String(error),
      });
      return;
    }
    const cancelled = await cancelUnrecorded(submission, id);
    throw new JobNotRecordedError(id, cancelled, error);
  }
  if (job.outcome !== undefined) {
    await submission.onEnd(job, job.outcome).catch((error: unknown) => {
      logger.warn('job end not settled in its owner limits', {
        requestId,
        jobId: id,
        error: error instanceof Error ? error : String(error),
      });
    });
  }
}

async function cancelUnrecorded(submission: Submission, jobId: string): Promise<boolean> {
  try {
    await submission.session.call({
      path: `cancel/${jobId}`,
      method: 'POST',
      endpointId: submission.endpointId,
    });
    logger.error('job not recorded; cancelled it at RunPod', {
      requestId: submission.requestId,
      jobId,
    });
    return true;
  } catch (error) {
    logger.error('job not recorded and its cancel failed; it may still run at RunPod', {
      requestId: submission.requestId,
      jobId,
      endpointId: submission.endpointId,
      error: error instanceof Error ? error : String(error),
    });
    return false;
  }
}
