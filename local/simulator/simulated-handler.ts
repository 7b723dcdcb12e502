/**
 * Plays one attempt of a {@link WorkerScript} the way a RunPod handler would run on a worker:
 * progress updates, then either a return value or yielded chunks (a generator handler), then the
 * end of the attempt. Pacing is real time against absolute deadlines from the attempt's start, so
 * timer overhead does not accumulate over thousands of chunks. Chunks already due are yielded
 * together (up to {@link MAX_CHUNKS_PER_TURN}) before giving the event loop back, which is what a
 * fast generator looks like from the platform side and keeps 10,000 chunks at 0 ms quick without
 * starving the HTTP server.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { WorkerScript } from './worker-script.ts';

export type AttemptOutcome =
  | { readonly status: 'COMPLETED'; readonly output: unknown }
  | { readonly status: 'FAILED'; readonly error: string }
  | { readonly status: 'TIMED_OUT' };

export interface AttemptContext {
  /** 1 for the first run of the job, 2 after the first `/retry`, and so on. */
  readonly attempt: number;
  /** `performance.now()` when the worker picked the job up. */
  readonly startedAt: number;
  /** Aborted when the job is cancelled, times out, is deleted, or the simulator closes. */
  readonly signal: AbortSignal;
  readonly yieldChunk: (value: unknown) => void;
  readonly reportProgress: (value: unknown) => void;
}

export const MAX_CHUNKS_PER_TURN = 1_000;

async function waitUntil(deadline: number, signal: AbortSignal): Promise<void> {
  const remaining = deadline - performance.now();
  if (remaining >= 1) {
    await sleep(Math.ceil(remaining), undefined, { signal, ref: false });
  } else {
    // Must stay ref'd: Node does not skip the I/O wait for unref'd immediates, so an unref'd one
    // would sit until some other event woke the loop.
    await nextTurn(undefined, { signal });
  }
}

function attemptFails(script: WorkerScript, attempt: number): boolean {
  return script.failure !== undefined && attempt <= script.failure.attempts;
}

/** Resolves with how the attempt ended; rejects with an AbortError when `signal` aborts. */
export async function playAttempt(
  script: WorkerScript,
  context: AttemptContext,
): Promise<AttemptOutcome> {
  const { startedAt, signal } = context;
  const fails = attemptFails(script, context.attempt);
  const failure: AttemptOutcome = {
    status: 'FAILED',
    error: script.failure?.message ?? '',
  };
  const plan = script.stream;

  if (plan === undefined) {
    const steps = script.progress.length + 1;
    for (const [index, update] of script.progress.entries()) {
      await waitUntil(startedAt + (script.durationMs * (index + 1)) / steps, signal);
      context.reportProgress(update);
    }
    await waitUntil(startedAt + script.durationMs, signal);
    if (fails) return failure;
    if (script.timeout) return { status: 'TIMED_OUT' };
    return { status: 'COMPLETED', output: script.makeOutput() };
  }

  const yielded: unknown[] | undefined = plan.aggregate ? [] : undefined;
  const chunkCount = fails ? plan.failAfterChunks : plan.count;
  const dueAt = (index: number): number =>
    startedAt + plan.firstChunkDelayMs + index * plan.chunkIntervalMs;
  let index = 0;
  while (index < chunkCount) {
    await waitUntil(dueAt(index), signal);
    const turnEnd = index + MAX_CHUNKS_PER_TURN;
    do {
      const value = plan.valueAt(index);
      context.yieldChunk(value);
      yielded?.push(value);
      index += 1;
    } while (index < chunkCount && index < turnEnd && dueAt(index) <= performance.now());
  }
  if (fails) return failure;
  if (script.timeout) return { status: 'TIMED_OUT' };
  // Without return_aggregate_stream the worker SDK reports `{"output": []}` at the end (§5.1).
  return { status: 'COMPLETED', output: yielded ?? [] };
}
