/**
 * A job as the simulator keeps it, and the JSON views clients see of it (reference §3): the job
 * object of `/status`, `/runsync`, `/status-sync`, and the webhook payload. Keys come out in
 * alphabetical order, as RunPod's Go service writes them.
 */
import type { WorkerScript } from './worker-script.ts';

export const JOB_STATUSES = [
  'IN_QUEUE',
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export type TerminalStatus = Exclude<JobStatus, 'IN_QUEUE' | 'IN_PROGRESS'>;

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return status !== 'IN_QUEUE' && status !== 'IN_PROGRESS';
}

export interface JobPolicy {
  /** ms a single attempt may run before it ends TIMED_OUT. */
  readonly executionTimeout: number;
  /** ms from submission (or retry) to hard deletion while the job is not terminal. */
  readonly ttl: number;
  /** Accepted and kept; there is no autoscaling to skip. */
  readonly lowPriority: boolean;
}

export interface JobRecord {
  readonly id: string;
  readonly endpointId: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly webhook: string | undefined;
  readonly policy: JobPolicy;
  /** Result retention after a terminal state: 30 min for `/run`, 1 min for `/runsync` (§4.4). */
  readonly retentionMs: number;
  readonly script: WorkerScript;

  status: JobStatus;
  /** Times are `performance.now()`; the views turn them into whole milliseconds. */
  queuedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  workerId: string | undefined;
  /** Boxed, so that an output of `null` is told apart from no output at all. */
  output: { readonly value: unknown } | undefined;
  error: string | undefined;
  /** Attempts started so far; `failTimes` counts against it. */
  attempts: number;
  /** Chunks yielded and not yet read by a `/stream` poll; swapped out whole on each read. */
  unreadChunks: unknown[];
  deleted: boolean;
}

/** What the engine hands out: callers read a job, only the engine changes it. */
export type ReadonlyJob = Readonly<JobRecord>;

export type JobObject = Record<string, unknown>;

function sortedKeys(entries: [string, unknown][]): JobObject {
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

function jobEntries(job: ReadonlyJob, now: number): [string, unknown][] {
  const entries: [string, unknown][] = [
    ['id', job.id],
    ['status', job.status],
  ];
  if (job.startedAt !== undefined) {
    entries.push(['delayTime', Math.round(job.startedAt - job.queuedAt)]);
    entries.push(['executionTime', Math.round((job.finishedAt ?? now) - job.startedAt)]);
  }
  if (job.workerId !== undefined) entries.push(['workerId', job.workerId]);
  if (job.output !== undefined) entries.push(['output', job.output.value]);
  if (job.error !== undefined) entries.push(['error', job.error]);
  return entries;
}

/** The job object of `/status`, `/status-sync`, and a finished `/runsync`. */
export function toJobObject(job: ReadonlyJob, now: number = performance.now()): JobObject {
  return sortedKeys(jobEntries(job, now));
}

/** What the webhook receives: the job object plus `input` and `webhook` (§12). */
export function toWebhookPayload(job: ReadonlyJob, webhook: string): JobObject {
  const entries = jobEntries(job, performance.now());
  entries.push(['input', job.input], ['webhook', webhook]);
  return sortedKeys(entries);
}
