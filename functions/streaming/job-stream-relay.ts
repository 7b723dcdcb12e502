import { toGatewayError } from '../http/map-error.ts';
import { problemOf } from '../http/problem.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import type { JournalPage } from '../ledger/stream-journal.ts';
import { logger } from '../observability/logger.ts';
import { RunPodHttpError, RunPodNetworkError } from '../runpod/errors.ts';
import { FINAL_JOB_FIELDS, isTerminal, type StreamPoll } from '../runpod/job-status.ts';
import { retryAfterSeconds } from '../runpod/retry-after.ts';
import { stream, timersPromises } from '../runtime/builtins.ts';
import type { JobJournal, StreamLease } from './job-journal.ts';
import { SSE_KEEP_ALIVE, sseEvent, sseEventOfJson } from './sse-format.ts';

export interface JobStreamSource {
  /** One drain of RunPod's chunk buffer, held by RunPod up to `waitMs` while empty. */
  poll(waitMs: number, signal: AbortSignal): Promise<StreamPoll>;
  /** The job's `/status`, read once at the end for the final fields. */
  finalStatus(signal: AbortSignal): Promise<Record<string, unknown>>;
}

export type StreamOutcome = 'done' | 'timeout' | 'error' | 'disconnected';

/** The job's stream journal, for a relay that journals what it drains and resumes from it. */
export interface JournalAccess {
  readonly log: JobJournal;
  /** Held (taken before the first byte) when this relay is to poll RunPod; else it follows. */
  readonly lease: StreamLease;
  /** The caller already has every chunk up to this sequence number (`Last-Event-ID`). */
  readonly afterSeq: number;
}

export interface JobStreamOptions {
  readonly jobId: string;
  readonly requestId: string;
  /** The job's status when the stream opened, when this relay read it (it polls RunPod). */
  readonly initialStatus: string | undefined;
  /**
   * Without a journal the stream is RunPod's alone: chunk ids count from 1 in each response and
   * a caller who leaves stops the polling.
   */
  readonly journal?: JournalAccess | undefined;
  readonly source: JobStreamSource;
  /** Epoch ms before which the stream ends with `event: timeout`. */
  readonly endsAt: number;
  readonly keepAliveMs: number;
  readonly pollWaitMs: number;
  readonly onFinish: (summary: {
    outcome: StreamOutcome;
    code?: string | undefined;
    chunks: number;
    polls: number;
    /** The caller had left before the relay stopped (it kept journaling, or stopped at once). */
    callerLeft: boolean;
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
/**
 * A follower reads the journal's next page this often while pages keep coming, backing off to
 * the ceiling while none do (a consistent read each time).
 */
const FOLLOW_FLOOR_MS = 100;
const FOLLOW_CEILING_MS = 1_000;
/** How often a follower tries to take over the lease of a relay that may have died. */
const TAKE_OVER_CHECK_MS = 1_000;
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
export function relayJobStream(
  options: JobStreamOptions,
): InstanceType<typeof stream.Readable> & { finished: Promise<void> } {
  return new JobStreamRelay(options);
}

class JobStreamRelay extends stream.Readable {
  readonly #options: JobStreamOptions;
  readonly #abort = new AbortController();
  #keepAlive: NodeJS.Timeout | undefined;
  #resumeReading: (() => void) | undefined;
  #eventId = 0;
  #chunksSent = 0;
  #polls = 0;
  #finished = false;
  /** The last status told to the caller (by a `status` event or the stream's first page). */
  #sentStatus: string | undefined;
  /** Settles when the relay stops polling and journaling (see `finished`). */
  readonly finished: Promise<void>;

  constructor(options: JobStreamOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.#options = options;
    this.finished = new Promise<void>((resolve) => {
      queueMicrotask(() => {
        this.#run()
          .catch((error: unknown) =>
            // The journal's table failing is an outage to report, not a bug.
            error instanceof LedgerUnavailableError ? this.#error(error) : this.#fail(error),
          )
          .catch((error: unknown) => this.#fail(error))
          .finally(() => {
            if (!this.#finished) this.#finish('disconnected');
            resolve();
          });
      });
    });
  }

  override _read(): void {
    const resume = this.#resumeReading;
    this.#resumeReading = undefined;
    resume?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A relay that polls RunPod for a journal keeps going without its caller: whatever it drains
    // from now on is journaled for the caller's reconnect, until the job ends or the stream's
    // maximum duration. Anything else stops at once.
    if (!this.#options.journal?.lease.held) this.#abort.abort();
    clearTimeout(this.#keepAlive);
    this._read();
    callback(error);
  }

  async #run(): Promise<void> {
    const { journal } = this.#options;
    if (journal !== undefined) {
      // What the journal holds first, from the caller's `Last-Event-ID` on, a batch at a time.
      for (;;) {
        const pages = await journal.log.readNext();
        if (pages.length === 0) break;
        await this.#sendPages(pages, journal.afterSeq);
        if (journal.log.end !== undefined) return this.#finishJournal(journal);
      }
    }
    const initialStatus = this.#options.initialStatus;
    // A job that has already ended is reported by `done`, after whatever output RunPod holds.
    if (initialStatus !== undefined && !isTerminal(initialStatus)) {
      await this.#sendStatus(initialStatus);
    }
    let status = initialStatus ?? journal?.log.status ?? 'IN_QUEUE';
    const signal = this.#abort.signal;
    let refusedRetries = 0;
    let unheldEmptyPolls = 0;
    let followMs = FOLLOW_FLOOR_MS;
    let nextTakeOver = Date.now() + TAKE_OVER_CHECK_MS;

    for (;;) {
      if (signal.aborted) return;
      const remaining = this.#options.endsAt - Date.now() - CLOSE_MARGIN_MS;
      if (remaining < MIN_WAIT_MS) return this.#timeout(journal?.log.status ?? status);
      if (journal !== undefined && !journal.lease.held) {
        // Another relay polls RunPod: follow the journal it writes, and take over if it dies.
        if (Date.now() >= nextTakeOver) {
          nextTakeOver = Date.now() + TAKE_OVER_CHECK_MS;
          if (await journal.lease.hold()) continue;
        }
        const pages = await journal.log.readNext();
        if (pages.length > 0) {
          await this.#sendPages(pages, journal.afterSeq);
          if (journal.log.end !== undefined) return this.#finishJournal(journal);
          followMs = FOLLOW_FLOOR_MS;
          continue;
        }
        await timersPromises.setTimeout(followMs, undefined, { signal }).catch(() => undefined);
        followMs = Math.min(followMs * 2, FOLLOW_CEILING_MS);
        continue;
      }
      // Renewed before each poll when due; lost only to a relay that took over an expired one.
      if (journal !== undefined && !(await journal.lease.hold())) continue;
      let poll: StreamPoll;
      const polledAt = Date.now();
      try {
        this.#polls++;
        poll = await this.#options.source.poll(
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
        await timersPromises.setTimeout(pause, undefined, { signal }).catch(() => undefined);
        continue;
      }
      const chunks = (poll.stream ?? []).map(chunkTextOf);
      const empty = chunks.length === 0 && poll.status === status;
      unheldEmptyPolls =
        empty && Date.now() - polledAt < EMPTY_POLL_FLOOR_MS ? unheldEmptyPolls + 1 : 0;
      const ended = isTerminal(poll.status);
      if (journal !== undefined) {
        if (!empty || ended) {
          const end = ended ? await this.#finalOf(poll.status) : undefined;
          if (end === undefined && ended) return;
          let pages: JournalPage[];
          try {
            pages = await journal.log.append(chunks, poll.status, end);
          } catch (error) {
            // Drained from RunPod and not journaled: the caller gets it now, a reconnect will not.
            for (const chunk of chunks) await this.#sendChunk(chunk);
            return this.#error(error);
          }
          await this.#sendPages(pages, journal.afterSeq);
          if (journal.log.end !== undefined) return this.#finishJournal(journal);
        }
        status = poll.status;
      } else {
        if (poll.status !== status) {
          status = poll.status;
          // A terminal status is reported once, by `done`, after the last chunks.
          if (!ended) await this.#sendStatus(status);
        }
        for (const chunk of chunks) await this.#sendChunk(chunk, ++this.#eventId);
        if (ended) {
          const end = await this.#finalOf(status);
          if (end === undefined) return;
          await this.#send(sseEvent('done', end));
          return this.#end('done');
        }
      }
      if (unheldEmptyPolls > 0) {
        const pause = Math.min(
          EMPTY_POLL_FLOOR_MS * 2 ** (unheldEmptyPolls - 1),
          EMPTY_POLL_CEILING_MS,
        );
        await timersPromises.setTimeout(pause, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Sends journal pages: status changes, the chunks after `afterSeq` (with their ids), `done`. */
  async #sendPages(pages: readonly JournalPage[], afterSeq: number): Promise<void> {
    for (const page of pages) {
      if (!isTerminal(page.status)) await this.#sendStatus(page.status);
      for (let index = 0; index < page.chunks.length; index++) {
        const seq = page.first + index;
        if (seq > afterSeq) await this.#sendChunk(page.chunks[index] ?? 'null', seq);
      }
      if (page.end !== undefined) await this.#send(sseEvent('done', page.end));
    }
  }

  async #sendStatus(status: string): Promise<void> {
    if (status === this.#sentStatus) return;
    this.#sentStatus = status;
    await this.#send(sseEvent('status', { id: this.#options.jobId, status }));
  }

  async #sendChunk(json: string, id?: number): Promise<void> {
    this.#chunksSent++;
    await this.#send(sseEventOfJson('output', json, id));
  }

  /** The journal ended with `done` (already sent): nobody needs to poll RunPod for this job again. */
  async #finishJournal(journal: JournalAccess): Promise<void> {
    // Any relay that polled RunPod closes the journal, even one whose lease lapsed meanwhile
    // (the write is conditional: it fails quietly if another relay holds a live lease). A
    // follower that only read the end leaves it to the relay that wrote it.
    if (journal.lease.held || this.#polls > 0) {
      await journal.lease
        .keepForGood()
        .catch((error: unknown) => this.#warn('lease not kept', error));
    }
    this.#end('done');
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

  /**
   * The `done` data: the final status with RunPod's timing fields from `/status`; undefined when
   * the caller left a relay that journals nothing.
   */
  async #finalOf(status: string): Promise<Record<string, unknown> | undefined> {
    const final: Record<string, unknown> = { id: this.#options.jobId, status };
    try {
      const job = await this.#options.source.finalStatus(this.#abort.signal);
      for (const field of FINAL_JOB_FIELDS) {
        if (field !== 'status' && job[field] !== undefined) final[field] = job[field];
      }
    } catch {
      // Every chunk was delivered; the timing fields are a nicety not worth failing for.
      if (this.#abort.signal.aborted) return undefined;
    }
    return final;
  }

  async #timeout(status: string): Promise<void> {
    await this.#releaseLease();
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
    await this.#releaseLease();
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

  /** This relay stops before the job's end: the next viewer may poll RunPod at once. */
  async #releaseLease(): Promise<void> {
    const lease = this.#options.journal?.lease;
    if (lease?.held)
      await lease.release().catch((error: unknown) => this.#warn('lease not released', error));
  }

  #warn(message: string, error: unknown): void {
    logger.warn(message, {
      requestId: this.#options.requestId,
      jobId: this.#options.jobId,
      error: error instanceof Error ? error : String(error),
    });
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

  /** Reported once, when the relay stops: `disconnected` when its caller had left by then. */
  #finish(outcome: StreamOutcome, code?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#keepAlive);
    this.#options.onFinish({
      outcome,
      code,
      chunks: this.#chunksSent,
      polls: this.#polls,
      callerLeft: this.destroyed,
    });
  }
}

/** A chunk's output as the JSON text of its SSE `data:` line. */
export function chunkTextOf(chunk: unknown): string {
  const output =
    typeof chunk === 'object' && chunk !== null && 'output' in chunk ? chunk.output : chunk;
  return JSON.stringify(output) ?? 'null';
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
