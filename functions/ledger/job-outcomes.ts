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

/**
 * Records how a job ended when a RunPod answer shows a terminal status the ledger does not hold
 * yet: once per job (the ledger's write is conditional, and a job whose record already has an
 * outcome is not written again). A failed or slow write is logged, never the caller's problem.
 */
export async function noteJobOutcome(
  ledger: JobLedger,
  job: JobRecord | undefined,
  answer: Readonly<Record<string, unknown>>,
  requestId: string,
): Promise<void> {
  if (job === undefined || job.outcome !== undefined) return;
  const outcome = outcomeOf(answer);
  if (outcome === undefined) return;
  const write = ledger.recordOutcome(job.jobId, outcome).catch((error: unknown) => {
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
