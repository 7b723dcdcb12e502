import * as z from 'zod/mini';

/** RunPod's terminal statuses (every official client but Python's stream() agrees). */
export const TERMINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** One `/stream` poll: `{"status", "stream": [{"output": …}, …]}`; other keys are kept. */
export const streamPollSchema = z.looseObject({
  status: z.string(),
  stream: z.optional(z.array(z.unknown())),
});

export type StreamPoll = z.infer<typeof streamPollSchema>;

/** The job fields the terminal `done` event reports, when RunPod reports them. */
export const FINAL_JOB_FIELDS = [
  'status',
  'error',
  'executionTime',
  'delayTime',
  'workerId',
  'retries',
] as const;
