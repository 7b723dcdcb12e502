import type { Context } from 'aws-lambda';
import { type SweepSummary, sweepUnseenEnds } from '../ledger/job-end-sweep.ts';
import { logger } from '../observability/logger.ts';
import { crypto } from '../runtime/builtins.ts';
import { createGatewayRuntime } from '../runtime/gateway-runtime.ts';

/** Time kept back from the function's timeout to finish the jobs being read and log. */
const FINISH_MARGIN_MS = 15_000;

// The sweep reads job status as the status function does: its settings, ledger and RunPod keys.
const runtime = createGatewayRuntime('status');
const minAgeMs = wholeNumberOf('SWEEP_MIN_AGE_MS', 120_000);
const maxJobs = wholeNumberOf('SWEEP_MAX_JOBS', 2_000);

function wholeNumberOf(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d{1,12}$/.test(text)) throw new Error(`${name} must be a whole number, got "${text}"`);
  return Number(text);
}

/**
 * Runs on a schedule (EventBridge, every few minutes; `npm start` on a timer): reads the end of
 * jobs nobody polled to their end (see `ledger/job-end-sweep.ts`) and logs what it did.
 */
export async function handler(
  _event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
): Promise<SweepSummary> {
  const ledger = runtime.ledger;
  if (ledger === undefined) throw new Error('LEDGER_TABLE is not set: the sweep needs the ledger');
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const requestId = context?.awsRequestId ?? crypto.randomUUID();
  const summary = await sweepUnseenEnds({
    runtime,
    ledger,
    minAgeMs,
    maxJobs,
    deadline: Date.now() + Math.max(1_000, remaining - FINISH_MARGIN_MS),
    requestId,
  });
  logger.info('job sweep completed', { requestId, ...summary });
  return summary;
}
