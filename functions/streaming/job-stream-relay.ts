import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { toGatewayError } from '../http/map-error.ts';
import { problemOf } from '../http/problem.ts';
import { logger } from '../observability/logger.ts';
import { RunPodHttpError, RunPodNetworkError } from '../runpod/errors.ts';
import { FINAL_JOB_FIELDS, isTerminal, type StreamPoll } from '../runpod/job-status.ts';
import { retryAfterSeconds } from '../runpod/retry-after.ts';
import { SSE_KEEP_ALIVE, sseEvent } from './sse-format.ts';

export interface JobStreamSource {
  /** One drain of RunPod's chunk buffer, held by RunPod up to `waitMs` while empty. */
  poll(waitMs: number, signal: AbortSignal): Promise<StreamPoll>;
  /** The job's `/status`, read once at the end for the final fields. */
  finalStatus(signal: AbortSignal): Promise<Record<string, unknown>>;
}

export type StreamOutcome = 'done' | 'timeout' | 'error' | 'disconnected';

export interface JobStreamOptions {
  readonly jobId: string;
  readonly requestId: string;
  /** The job's status when the stream opened. */
  readonly initialStatus: string;
  readonly source: JobStreamSource;
  /** Epoch ms before which the stream ends with `event: timeout`. */
  readonly endsAt: number;
  readonly keepAliveMs: number;
  readonly pollWaitMs: number;
  readonly onFinish: (summary: {
    outcome: StreamOutcome;
    code?: string;
    chunks: number;
    polls: number;
  }) => void;
}

/** RunPod accepts `wait` from 1 s to 300 s. */
const MIN_WAIT_MS = 1_000;
const MAX_WAIT_MS = 300_000;
/** Kept back from `endsAt` to write the closing event. */
const CLOSE_MARGIN_MS = 500;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 5_000;
/** A 429 pauses at least this long, whatever `Retry-After` says (`0`, a date in the past). */
const MIN_RATE_LIMIT_PAUSE_MS = 1_000;
/**
 * An empty poll that came back sooner than this was not held by RunPod (an upstream that ignores
 * `wait`): the next one waits, from this floor doubling per such poll up to the ceiling, so one
 * stream makes at most 5 upstream calls a second. Polls that bring chunks, or were held, go again
 * at once: the flowing path stays as fast.
 */
const EMPTY_POLL_FLOOR_MS = 200;
const EMPTY_POLL_CEILING_MS = 2_000;
const MAX_REFUSED_RETRIES = 3;
/** Failures that happen before a request reaches RunPod, so no chunk can have been drained. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * Turns RunPod's drain-on-read `/stream` polls into one Server-Sent Events body: every chunk
 * once, in order, as soon as RunPod has it. RunPod's long-poll (`wait`) keeps an idle job to
 * one upstream call per hold. A poll is never repeated blindly after a failure that may have
 * drained chunks: the caller gets `event: error` and can resume, because RunPod keeps
 * undelivered chunks buffered. Destroying the body (the caller went away) aborts polling.
 */
export function relayJobStream(options: JobStreamOptions): Readable {
  return new JobStreamRelay(options);
}

class JobStreamRelay extends Readable {
  readonly #options: JobStreamOptions;
  readonly #abort = new AbortController();
  #keepAlive: NodeJS.Timeout | undefined;
  #resumeReading: (() => void) | undefined;
  #eventId = 0;
  #polls = 0;
  #finished = false;

  constructor(options: JobStreamOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.#options = options;
    queueMicrotask(() => {
      this.#run().catch((error: unknown) => this.#fail(error));
    });
  }

  override _read(): void {
    const resume = this.#resumeReading;
    this.#resumeReading = undefined;
    resume?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort();
    clearTimeout(this.#keepAlive);
    this._read();
    if (!this.#finished) this.#finish('disconnected');
    callback(error);
  }

  async #run(): Promise<void> {
    const { jobId, source, initialStatus } = this.#options;
    const signal = this.#abort.signal;
    let status = initialStatus;
    // A job that has already ended is reported by `done`, after whatever output RunPod holds.
    if (!isTerminal(status)) await this.#send(sseEvent('status', { id: jobId, status }));
    let refusedRetries = 0;
    let unheldEmptyPolls = 0;

    for (;;) {
      const remaining = this.#options.endsAt - Date.now() - CLOSE_MARGIN_MS;
      if (remaining < MIN_WAIT_MS) return this.#timeout(status);
      let poll: StreamPoll;
      const polledAt = Date.now();
      try {
        this.#polls++;
        poll = await source.poll(
          Math.min(this.#options.pollWaitMs, remaining, MAX_WAIT_MS),
          signal,
        );
        refusedRetries = 0;
      } catch (error) {
        if (signal.aborted) return;
        const pause = this.#pauseBeforeRetry(error, refusedRetries);
        if (pause === undefined) return this.#error(error);
        if (error instanceof RunPodNetworkError) refusedRetries++;
        if (Date.now() + pause > this.#options.endsAt - CLOSE_MARGIN_MS) {
          // A rate limit the stream cannot wait out is RunPod's, not the stream's end: saying
          // `timeout` would invite an immediate reconnect into the same limit.
          return error instanceof RunPodHttpError && error.status === 429
            ? this.#error(error, pause)
            : this.#timeout(status);
        }
        await sleep(pause, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return;
        continue;
      }
      const empty = (poll.stream ?? []).length === 0 && poll.status === status;
      unheldEmptyPolls =
        empty && Date.now() - polledAt < EMPTY_POLL_FLOOR_MS ? unheldEmptyPolls + 1 : 0;
      if (poll.status !== status) {
        status = poll.status;
        // A terminal status is reported once, by `done`, after the last chunks.
        if (!isTerminal(status)) await this.#send(sseEvent('status', { id: jobId, status }));
      }
      for (const chunk of poll.stream ?? []) {
        await this.#send(sseEvent('output', outputOf(chunk), ++this.#eventId));
        if (signal.aborted) return;
      }
      if (isTerminal(status)) return this.#done(status);
      if (unheldEmptyPolls > 0) {
        const pause = Math.min(
          EMPTY_POLL_FLOOR_MS * 2 ** (unheldEmptyPolls - 1),
          EMPTY_POLL_CEILING_MS,
        );
        await sleep(pause, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return;
      }
    }
  }

  /** How long to pause before polling again, or undefined when polling again could lose chunks. */
  #pauseBeforeRetry(error: unknown, refusedRetries: number): number | undefined {
    if (error instanceof RunPodHttpError && error.status === 429) {
      const seconds = retryAfterSeconds(error.retryAfter);
      return seconds === undefined
        ? DEFAULT_RATE_LIMIT_PAUSE_MS
        : Math.max(seconds * 1000, MIN_RATE_LIMIT_PAUSE_MS);
    }
    if (
      error instanceof RunPodNetworkError &&
      wasNeverSent(error) &&
      refusedRetries < MAX_REFUSED_RETRIES
    ) {
      return 250 * 2 ** refusedRetries;
    }
    return undefined;
  }

  async #done(status: string): Promise<void> {
    const final: Record<string, unknown> = { id: this.#options.jobId, status };
    try {
      const job = await this.#options.source.finalStatus(this.#abort.signal);
      for (const field of FINAL_JOB_FIELDS) {
        if (field !== 'status' && job[field] !== undefined) final[field] = job[field];
      }
    } catch {
      // Every chunk was delivered; the timing fields are a nicety not worth failing for.
      if (this.#abort.signal.aborted) return;
    }
    await this.#send(sseEvent('done', final));
    this.#end('done');
  }

  async #timeout(status: string): Promise<void> {
    await this.#send(
      sseEvent('timeout', {
        id: this.#options.jobId,
        status,
        detail:
          'The stream reached its maximum duration while the job is still running; call this route again to resume (RunPod keeps undelivered output buffered).',
      }),
    );
    this.#end('timeout');
  }

  /** Ends the stream with `event: error`; `retryAfterMs` when RunPod asked for a longer wait than the stream has. */
  async #error(error: unknown, retryAfterMs?: number): Promise<void> {
    const problem = toGatewayError(error);
    const detail =
      retryAfterMs === undefined
        ? `${problem.detail}. Output RunPod handed out in the failed poll may be lost; call this route again to resume from what RunPod still holds.`
        : `${problem.detail}: RunPod asks to wait ${Math.ceil(retryAfterMs / 1000)} s, longer than this stream may last. Nothing was lost: call this route again after that wait (retryAfterSeconds).`;
    await this.#send(
      sseEvent('error', {
        ...problemOf(problem, this.#options.requestId, detail),
        ...(retryAfterMs === undefined
          ? {}
          : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
      }),
    );
    this.#end('error', problem.code);
  }

  /**
   * A bug mid-stream: tell the caller with `event: error`, log it, and end the body. Failing
   * the body instead would not reach the runtime's error trailers: middy pipes the body into
   * the response stream, the pipeline destroys that stream, and the runtime process exits
   * (Runtime.ExitError), taking the warm execution environment with it.
   */
  #fail(error: unknown): void {
    if (this.destroyed || this.#finished) return;
    const problem = toGatewayError(error);
    logger.error('stream relay failed', {
      requestId: this.#options.requestId,
      error: error instanceof Error ? error : String(error),
    });
    this.push(sseEvent('error', problemOf(problem, this.#options.requestId)));
    this.#end('error', problem.code);
  }

  async #send(text: string): Promise<void> {
    if (this.destroyed) return;
    this.#armKeepAlive();
    if (!this.push(text)) {
      await new Promise<void>((resolve) => {
        this.#resumeReading = resolve;
      });
    }
  }

  /** Restarts the one keep-alive timer (refreshed, not re-created, on every event). */
  #armKeepAlive(): void {
    if (this.#keepAlive) {
      this.#keepAlive.refresh();
      return;
    }
    this.#keepAlive = setTimeout(() => {
      if (this.destroyed || this.#finished) return;
      this.push(SSE_KEEP_ALIVE);
      this.#keepAlive?.refresh();
    }, this.#options.keepAliveMs);
  }

  #end(outcome: StreamOutcome, code?: string): void {
    clearTimeout(this.#keepAlive);
    this.#finish(outcome, code);
    if (!this.destroyed) this.push(null);
  }

  #finish(outcome: StreamOutcome, code?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#keepAlive);
    this.#options.onFinish({ outcome, code, chunks: this.#eventId, polls: this.#polls });
  }
}

function outputOf(chunk: unknown): unknown {
  return typeof chunk === 'object' && chunk !== null && 'output' in chunk ? chunk.output : chunk;
}

function wasNeverSent(error: RunPodNetworkError): boolean {
  let cause: unknown = error.cause;
  while (cause instanceof Error) {
    if ('code' in cause && typeof cause.code === 'string' && NOT_SENT_CODES.has(cause.code))
      return true;
    cause = cause.cause;
  }
  return false;
}
