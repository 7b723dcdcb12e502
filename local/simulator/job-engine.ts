/**
 * The simulated endpoint behind the HTTP layer: per endpoint a FIFO queue, a fixed pool of
 * workers, and the job state machine of reference §4.1 —
 *
 *   IN_QUEUE → IN_PROGRESS → COMPLETED | FAILED | CANCELLED | TIMED_OUT
 *   FAILED | TIMED_OUT --retry--> IN_QUEUE (same id)
 *
 * plus hard deletion (policy.ttl, `?ttl=`, result retention). Everything is event driven: a
 * change to a job wakes its watchers (held HTTP requests) in a microtask, so a chunk reaches a
 * held `/stream` poll in the same turn of the event loop it was produced in, and several changes
 * made in one turn (the last chunk and COMPLETED) are seen together.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  isTerminal,
  type JobPolicy,
  type JobRecord,
  type JobStatus,
  type ReadonlyJob,
  type TerminalStatus,
  toWebhookPayload,
} from './job-record.ts';
import { type AttemptOutcome, playAttempt } from './simulated-handler.ts';
import type { StatsRecorder } from './simulator-stats.ts';
import type { TimerSet } from './timer-set.ts';
import { WebhookSender } from './webhook-sender.ts';
import type { WorkerScript } from './worker-script.ts';

export const RUN_RETENTION_MS = 30 * 60 * 1000;
export const RUNSYNC_RETENTION_MS = 60 * 1000;

export interface SubmitRequest {
  readonly input: Readonly<Record<string, unknown>>;
  readonly webhook: string | undefined;
  readonly policy: JobPolicy;
  readonly script: WorkerScript;
  /** `/runsync` jobs get `sync-` ids and 1 min retention. */
  readonly sync: boolean;
}

export interface HealthReport {
  readonly jobs: {
    readonly completed: number;
    readonly failed: number;
    readonly inProgress: number;
    readonly inQueue: number;
    readonly retried: number;
  };
  readonly workers: {
    readonly idle: number;
    readonly initializing: number;
    readonly ready: number;
    readonly running: number;
    readonly throttled: number;
    readonly unhealthy: number;
  };
}

export type RetryResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: JobStatus };

export interface JobEngineOptions {
  readonly workers: number;
  readonly timers: TimerSet;
  readonly stats: StatsRecorder;
  readonly webhookRetryDelaysMs: readonly number[];
  readonly log: (line: string) => void;
}

/** Engine-private bookkeeping next to what the views read. */
interface EngineJob extends JobRecord {
  queueTimer: NodeJS.Timeout | undefined;
  executionTimer: NodeJS.Timeout | undefined;
  deleteTimer: NodeJS.Timeout | undefined;
  /** The attempt in progress; aborting it stops the simulated handler. */
  run: AbortController | undefined;
  /** Deletion deadline of the current phase: policy.ttl while queued or running, else retention. */
  phaseDeadline: number;
  /** Earliest deletion asked for with `?ttl=`, as a `performance.now()` deadline. */
  ttlDeadline: number;
  readonly watchers: Set<() => void>;
  notifyQueued: boolean;
}

interface EndpointState {
  readonly id: string;
  readonly jobs: Map<string, EngineJob>;
  /** Queued jobs whose `queueMs` has not elapsed yet. */
  readonly arriving: Set<EngineJob>;
  /** Queued jobs a worker may take, oldest first (a Set iterates in insertion order). */
  readonly ready: Set<EngineJob>;
  readonly idleWorkers: string[];
  running: number;
  completed: number;
  failed: number;
}

const WORKER_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Looks like RunPod's worker ids, e.g. `kial9wg5uyd12h`. */
function newWorkerId(): string {
  return Array.from(randomBytes(14), (byte) => WORKER_ID_ALPHABET.charAt(byte % 36)).join('');
}

/** RunPod ids carry an undocumented `-u1`-style suffix; keeping it catches over-strict parsers. */
function newJobId(sync: boolean): string {
  return `${sync ? 'sync-' : ''}${randomUUID()}-u1`;
}

export class JobEngine {
  readonly #endpoints = new Map<string, EndpointState>();
  /** The engine's side of each job record it handed out (deleted ones included). */
  readonly #internals = new WeakMap<ReadonlyJob, EngineJob>();
  readonly #runs = new Set<AbortController>();
  readonly #workers: number;
  readonly #timers: TimerSet;
  readonly #stats: StatsRecorder;
  readonly #webhooks: WebhookSender;
  readonly #log: (line: string) => void;
  #closed = false;

  constructor(options: JobEngineOptions) {
    this.#workers = options.workers;
    this.#timers = options.timers;
    this.#stats = options.stats;
    this.#log = options.log;
    this.#webhooks = new WebhookSender(options.timers, options.webhookRetryDelaysMs, options.log);
  }

  submit(endpointId: string, request: SubmitRequest): ReadonlyJob {
    const endpoint = this.#endpoint(endpointId);
    const job: EngineJob = {
      id: newJobId(request.sync),
      endpointId,
      input: request.input,
      webhook: request.webhook,
      policy: request.policy,
      retentionMs: request.sync ? RUNSYNC_RETENTION_MS : RUN_RETENTION_MS,
      script: request.script,
      status: 'IN_QUEUE',
      queuedAt: performance.now(),
      startedAt: undefined,
      finishedAt: undefined,
      workerId: undefined,
      output: undefined,
      error: undefined,
      attempts: 0,
      unreadChunks: [],
      deleted: false,
      queueTimer: undefined,
      executionTimer: undefined,
      deleteTimer: undefined,
      run: undefined,
      phaseDeadline: Number.POSITIVE_INFINITY,
      ttlDeadline: Number.POSITIVE_INFINITY,
      watchers: new Set(),
      notifyQueued: false,
    };
    endpoint.jobs.set(job.id, job);
    this.#internals.set(job, job);
    this.#enqueue(endpoint, job);
    return job;
  }

  find(endpointId: string, jobId: string): ReadonlyJob | undefined {
    return this.#endpoints.get(endpointId)?.jobs.get(jobId);
  }

  /**
   * Hands out every chunk not read yet, exactly once: the buffer is swapped, not copied or
   * shifted, so reading is O(1) however many chunks piled up.
   */
  takeUnreadChunks(job: ReadonlyJob): unknown[] {
    const engineJob = this.#engineJob(job);
    const chunks = engineJob.unreadChunks;
    if (chunks.length === 0) return chunks;
    engineJob.unreadChunks = [];
    this.#stats.chunksDelivered(job.id, chunks.length);
    return chunks;
  }

  /**
   * Calls `listener` (in a microtask) after any change to the job: a status change, a chunk, a
   * progress update, or its deletion. Returns the function that stops watching.
   */
  watch(job: ReadonlyJob, listener: () => void): () => void {
    const watchers = this.#engineJob(job).watchers;
    watchers.add(listener);
    return () => watchers.delete(listener);
  }

  /** Stops an in-progress job or drops a queued one; a terminal job is left as it is. */
  cancel(job: ReadonlyJob): JobStatus {
    if (!isTerminal(job.status) && !job.deleted) {
      this.#finish(this.#engineJob(job), { status: 'CANCELLED' });
    }
    return job.status;
  }

  /** Requeues a FAILED or TIMED_OUT job under the same id, its previous results cleared. */
  retry(job: ReadonlyJob): RetryResult {
    if (job.status !== 'FAILED' && job.status !== 'TIMED_OUT') {
      return { ok: false, status: job.status };
    }
    const engineJob = this.#engineJob(job);
    engineJob.startedAt = undefined;
    engineJob.finishedAt = undefined;
    engineJob.workerId = undefined;
    engineJob.output = undefined;
    engineJob.error = undefined;
    engineJob.unreadChunks = [];
    engineJob.ttlDeadline = Number.POSITIVE_INFINITY;
    this.#stats.resetChunks(job.id);
    this.#enqueue(this.#endpoint(job.endpointId), engineJob);
    return { ok: true };
  }

  /** Deletes every queued job of the endpoint (in-progress jobs keep running). */
  purgeQueue(endpointId: string): number {
    const endpoint = this.#endpoint(endpointId);
    const queued = [...endpoint.arriving, ...endpoint.ready];
    for (const job of queued) this.#delete(job);
    return queued.length;
  }

  /** `?ttl=`: delete the job no later than `ttlMs` from now (it can only shorten its life). */
  limitLifetime(job: ReadonlyJob, ttlMs: number): void {
    const engineJob = this.#engineJob(job);
    engineJob.ttlDeadline = Math.min(engineJob.ttlDeadline, performance.now() + ttlMs);
    this.#scheduleDeletion(engineJob, Number.POSITIVE_INFINITY);
  }

  health(endpointId: string): HealthReport {
    const endpoint = this.#endpoint(endpointId);
    const idle = endpoint.idleWorkers.length;
    return {
      jobs: {
        completed: endpoint.completed,
        failed: endpoint.failed,
        inProgress: endpoint.running,
        inQueue: endpoint.arriving.size + endpoint.ready.size,
        // Counts the platform's own re-dispatches, which the simulator never does.
        retried: 0,
      },
      workers: {
        idle,
        initializing: 0,
        ready: idle,
        running: endpoint.running,
        throttled: 0,
        unhealthy: 0,
      },
    };
  }

  /** Stops every attempt and webhook delivery; timers belong to the shared TimerSet. */
  close(): void {
    this.#closed = true;
    for (const run of this.#runs) run.abort();
    this.#runs.clear();
    this.#webhooks.close();
  }

  #endpoint(endpointId: string): EndpointState {
    let endpoint = this.#endpoints.get(endpointId);
    if (endpoint === undefined) {
      endpoint = {
        id: endpointId,
        jobs: new Map(),
        arriving: new Set(),
        ready: new Set(),
        idleWorkers: Array.from({ length: this.#workers }, newWorkerId),
        running: 0,
        completed: 0,
        failed: 0,
      };
      this.#endpoints.set(endpointId, endpoint);
    }
    return endpoint;
  }

  #engineJob(job: ReadonlyJob): EngineJob {
    const engineJob = this.#internals.get(job);
    if (engineJob === undefined) throw new Error(`job ${job.id} does not belong to this engine`);
    return engineJob;
  }

  #enqueue(endpoint: EndpointState, job: EngineJob): void {
    const now = performance.now();
    job.status = 'IN_QUEUE';
    job.queuedAt = now;
    endpoint.arriving.add(job);
    job.queueTimer = this.#timers.after(job.script.queueMs, () => {
      job.queueTimer = undefined;
      endpoint.arriving.delete(job);
      endpoint.ready.add(job);
      this.#dispatch(endpoint);
    });
    this.#scheduleDeletion(job, now + job.policy.ttl);
    this.#notify(job);
  }

  #leaveQueue(job: EngineJob): void {
    const endpoint = this.#endpoint(job.endpointId);
    this.#timers.cancel(job.queueTimer);
    job.queueTimer = undefined;
    endpoint.arriving.delete(job);
    endpoint.ready.delete(job);
  }

  #dispatch(endpoint: EndpointState): void {
    while (!this.#closed && endpoint.ready.size > 0) {
      const workerId = endpoint.idleWorkers.pop();
      if (workerId === undefined) return;
      const next = endpoint.ready.values().next();
      if (next.done) return;
      endpoint.ready.delete(next.value);
      this.#start(endpoint, next.value, workerId);
    }
  }

  #start(endpoint: EndpointState, job: EngineJob, workerId: string): void {
    const startedAt = performance.now();
    const run = new AbortController();
    endpoint.running += 1;
    job.status = 'IN_PROGRESS';
    job.startedAt = startedAt;
    job.workerId = workerId;
    job.attempts += 1;
    job.run = run;
    this.#runs.add(run);
    job.executionTimer = this.#timers.after(job.policy.executionTimeout, () => {
      job.executionTimer = undefined;
      this.#finish(job, { status: 'TIMED_OUT' });
    });
    this.#notify(job);

    playAttempt(job.script, {
      attempt: job.attempts,
      startedAt,
      signal: run.signal,
      yieldChunk: (value) => {
        if (job.run !== run) return;
        job.unreadChunks.push(value);
        this.#stats.chunkProduced(job.id);
        this.#notify(job);
      },
      reportProgress: (value) => {
        if (job.run !== run) return;
        job.output = { value };
        this.#notify(job);
      },
    }).then(
      (outcome) => {
        if (job.run === run) this.#finish(job, outcome);
      },
      (error: unknown) => {
        if (run.signal.aborted) return;
        // A bug in the simulated handler fails the job loudly instead of hanging it.
        const message = error instanceof Error ? error.message : String(error);
        this.#log(`simulated handler crashed for job ${job.id}: ${message}`);
        if (job.run === run) this.#finish(job, { status: 'FAILED', error: message });
      },
    );
  }

  /** Ends the current attempt, if any, and frees its worker. */
  #stopRun(job: EngineJob): void {
    const run = job.run;
    if (run === undefined) return;
    job.run = undefined;
    run.abort();
    this.#runs.delete(run);
    this.#timers.cancel(job.executionTimer);
    job.executionTimer = undefined;
    const endpoint = this.#endpoint(job.endpointId);
    endpoint.running -= 1;
    if (job.workerId !== undefined) endpoint.idleWorkers.push(job.workerId);
  }

  #finish(job: EngineJob, outcome: AttemptOutcome | { readonly status: 'CANCELLED' }): void {
    if (isTerminal(job.status) || job.deleted) return;
    const now = performance.now();
    const status: TerminalStatus = outcome.status;
    const endpoint = this.#endpoint(job.endpointId);
    if (job.status === 'IN_PROGRESS') {
      this.#stopRun(job);
      job.finishedAt = now;
    } else {
      this.#leaveQueue(job);
    }
    job.status = status;
    job.output = outcome.status === 'COMPLETED' ? { value: outcome.output } : undefined;
    job.error = outcome.status === 'FAILED' ? outcome.error : undefined;
    if (status === 'COMPLETED') endpoint.completed += 1;
    if (status === 'FAILED' || status === 'TIMED_OUT') endpoint.failed += 1;
    this.#scheduleDeletion(job, now + job.retentionMs);
    this.#notify(job);
    if (job.webhook !== undefined)
      this.#webhooks.send(job.webhook, toWebhookPayload(job, job.webhook));
    this.#dispatch(endpoint);
  }

  /**
   * One deletion timer per job, at the earliest of its phase deadline (policy.ttl while queued or
   * running, retention once terminal) and any `?ttl=` deadline. `Infinity` keeps the phase
   * deadline already set.
   */
  #scheduleDeletion(job: EngineJob, phaseDeadline: number): void {
    if (job.deleted) return;
    if (phaseDeadline !== Number.POSITIVE_INFINITY) job.phaseDeadline = phaseDeadline;
    const deadline = Math.min(job.phaseDeadline, job.ttlDeadline);
    this.#timers.cancel(job.deleteTimer);
    job.deleteTimer = this.#timers.after(deadline - performance.now(), () => {
      job.deleteTimer = undefined;
      this.#delete(job);
    });
  }

  /** Hard deletion: the job stops, leaves the queue, and every later lookup is a 404. */
  #delete(job: EngineJob): void {
    if (job.deleted) return;
    const endpoint = this.#endpoint(job.endpointId);
    if (job.status === 'IN_PROGRESS') this.#stopRun(job);
    if (job.status === 'IN_QUEUE') this.#leaveQueue(job);
    this.#timers.cancel(job.deleteTimer);
    job.deleteTimer = undefined;
    job.deleted = true;
    endpoint.jobs.delete(job.id);
    this.#stats.forgetJob(job.id);
    this.#notify(job);
    this.#dispatch(endpoint);
  }

  #notify(job: EngineJob): void {
    if (job.notifyQueued || job.watchers.size === 0) return;
    job.notifyQueued = true;
    queueMicrotask(() => {
      job.notifyQueued = false;
      for (const watcher of [...job.watchers]) watcher();
    });
  }
}
