import { logger } from '../observability/logger.ts';
import { isTerminal } from '../runpod/job-status.ts';
import type { JobLedger, JobOutcome, JobRecord } from './job-ledger.ts';

/** Longest a request waits for its outcome write; the answer matters more than the record. */
const OUTCOME_WRITE_BUDGET_MS = 300;

/** The outcome a RunPod job object shows, if it shows the job ended. */
export function outcomeOf(answer: Readonly<Record<string, unknown>>): JobOutcome | undefined {
  const status = answer.status;
  if (typeof status !== 'string' || !isTerminal(status)) return undefined;
  return {
    status,
    executionTime: numberOf(answer.executionTime),
    delayTime: numberOf(answer.delayTime),
    endedAt: Date.now(),
  };
}

/** RunPod reruns only these (`/retry`); the rerun keeps the job id. */
const RETRYABLE = new Set(['FAILED', 'TIMED_OUT']);

/**
 * Which outcome, if any, this answer adds: none while the job runs or when the ledger holds this
 * very end; the end of a rerun when the recorded one was a FAILED or TIMED_OUT run and the answer
 * shows another end (another status or other timings: RunPod's milliseconds of two runs do not
 * coincide). So `/retry` costs no ledger write of its own.
 */
function newOutcomeOf(
  job: JobRecord,
  answer: Readonly<Record<string, unknown>>,
): { outcome: JobOutcome; replacing?: JobOutcome } | undefined {
  const outcome = outcomeOf(answer);
  if (outcome === undefined) return undefined;
  const recorded = job.outcome;
  if (recorded === undefined) return { outcome };
  const sameEnd =
    recorded.status === outcome.status &&
    recorded.executionTime === outcome.executionTime &&
    recorded.delayTime === outcome.delayTime;
  if (sameEnd || !RETRYABLE.has(recorded.status)) return undefined;
  return { outcome, replacing: recorded };
}

/** What follows the first record of a job's end (its owner's limits settled); `rerun` for a `/retry`'s. */
export type JobEndHandler = (job: JobRecord, outcome: JobOutcome, rerun: boolean) => Promise<void>;

/**
 * Records how a job ended when a RunPod answer shows an end the ledger does not hold yet: once
 * per end (the ledger's write is conditional, and an end already recorded is not written again),
 * then `onEnd` for the request that recorded it. A failed or slow write is logged, never the
 * caller's problem.
 */
export async function noteJobOutcome(
  ledger: JobLedger,
  job: JobRecord | undefined,
  answer: Readonly<Record<string, unknown>>,
  requestId: string,
  onEnd?: JobEndHandler,
): Promise<void> {
  if (job === undefined) return;
  const change = newOutcomeOf(job, answer);
  if (change === undefined) return;
  const write = ledger
    .recordOutcome(job.jobId, change.outcome, change.replacing)
    .then(async (recorded) => {
      if (recorded && onEnd) await onEnd(job, change.outcome, change.replacing !== undefined);
    })
    .catch((error: unknown) => {
      logger.warn('job outcome not recorded', {
        requestId,
        jobId: job.jobId,
        error: error instanceof Error ? error : String(error),
      });
    });
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, OUTCOME_WRITE_BUDGET_MS);
  });
  await Promise.race([write, budget]);
  clearTimeout(timer);
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
