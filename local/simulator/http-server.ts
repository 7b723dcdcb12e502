/**
 * The HTTP face of the simulator: RunPod's queue-endpoint routes under `/v2/{endpointId}/`,
 * checked in this order — path shape (404), API key (401), operation (404), endpoint id (404),
 * method (405), body (400), job id (404). Long requests (`/runsync`, `/status-sync`, `/stream`)
 * wait on job changes pushed by the engine, never by polling, and let go as soon as the client
 * disconnects.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isAuthorized } from './api-key.ts';
import {
  isClosed,
  MAX_JSON_DEPTH,
  nestingDepthOf,
  readBody,
  sendError,
  sendJson,
} from './http-io.ts';
import type { JobEngine } from './job-engine.ts';
import { isTerminal, type ReadonlyJob, toJobObject } from './job-record.ts';
import { serveOpenAi } from './openai-face.ts';
import type { StatsRecorder } from './simulator-stats.ts';
import { parseSubmitBody } from './submit-request.ts';
import type { TimerSet } from './timer-set.ts';

const MiB = 1024 * 1024;
const OPENAI_BODY_LIMIT_BYTES = 20 * MiB;

/** Anything RunPod could plausibly issue; the gateway's own validation is stricter. */
export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** `?wait=` bounds of `/runsync`, `/status-sync` and `/stream` (reference §2.2, §2.5). */
const MIN_WAIT_MS = 1_000;
const MAX_WAIT_MS = 300_000;

type Operation =
  | 'run'
  | 'runsync'
  | 'status'
  | 'status-sync'
  | 'stream'
  | 'cancel'
  | 'retry'
  | 'purge-queue'
  | 'health';

interface OperationRule {
  readonly methods: readonly ('GET' | 'POST')[];
  readonly takesJobId: boolean;
  /** Documented limits: 10 MB for /run, 20 MB for /runsync; other bodies are empty or `{}`. */
  readonly bodyLimitBytes: number;
}

const OPERATIONS: Readonly<Record<Operation, OperationRule>> = {
  run: { methods: ['POST'], takesJobId: false, bodyLimitBytes: 10 * MiB },
  runsync: { methods: ['POST'], takesJobId: false, bodyLimitBytes: 20 * MiB },
  status: { methods: ['GET', 'POST'], takesJobId: true, bodyLimitBytes: MiB },
  'status-sync': { methods: ['GET', 'POST'], takesJobId: true, bodyLimitBytes: MiB },
  stream: { methods: ['GET', 'POST'], takesJobId: true, bodyLimitBytes: MiB },
  cancel: { methods: ['POST'], takesJobId: true, bodyLimitBytes: MiB },
  retry: { methods: ['POST'], takesJobId: true, bodyLimitBytes: MiB },
  'purge-queue': { methods: ['POST'], takesJobId: false, bodyLimitBytes: MiB },
  health: { methods: ['GET'], takesJobId: false, bodyLimitBytes: MiB },
};

function isOperation(name: string): name is Operation {
  return Object.hasOwn(OPERATIONS, name);
}

export interface SimulatorServerOptions {
  readonly engine: JobEngine;
  readonly timers: TimerSet;
  readonly stats: StatsRecorder;
  readonly apiKey: string;
  /** When set, the only endpoint ids that exist. */
  readonly endpointIds: ReadonlySet<string> | undefined;
  readonly streamHoldMs: number;
  /** Hold every empty `/stream` poll `streamHoldMs`, whatever `?wait=` asks (a faulty upstream). */
  readonly ignoreStreamWait: boolean;
  /** Hold of `/runsync` and `/status-sync` without `?wait=`. */
  readonly syncWaitMs: number;
  readonly log: (line: string) => void;
}

interface RequestContext {
  readonly endpointId: string;
  readonly jobId: string;
  readonly url: URL;
  /** The parsed JSON body, or `undefined` when there was none. */
  readonly body: unknown;
  readonly response: ServerResponse;
}

type HoldOutcome = 'ready' | 'timeout' | 'aborted';

function waitParam(url: URL, fallback: number): number {
  const raw = url.searchParams.get('wait');
  const value = raw === null || raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value)) return fallback;
  return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.round(value)));
}

function ttlParam(url: URL): number | undefined {
  const raw = url.searchParams.get('ttl');
  const value = raw === null || raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function createSimulatorServer(options: SimulatorServerOptions): Server {
  const {
    engine,
    timers,
    stats,
    apiKey,
    endpointIds,
    streamHoldMs,
    ignoreStreamWait,
    syncWaitMs,
    log,
  } = options;

  /**
   * Resolves once `isReady()` holds after a change to the job, after `waitMs`, or when the client
   * goes away — whichever comes first. The caller re-reads the job state itself.
   */
  function hold(
    response: ServerResponse,
    job: ReadonlyJob,
    isReady: () => boolean,
    waitMs: number,
  ): Promise<HoldOutcome> {
    return new Promise((resolve) => {
      // 'close' will not fire again for a client that left while its body was being read.
      if (isClosed(response)) return resolve('aborted');
      let settled = false;
      const settle = (outcome: HoldOutcome): void => {
        if (settled) return;
        settled = true;
        stopWatching();
        timers.cancel(timer);
        response.off('close', onClose);
        resolve(outcome);
      };
      const onClose = (): void => settle('aborted');
      const stopWatching = engine.watch(job, () => {
        if (job.deleted || isReady()) settle('ready');
      });
      const timer = timers.after(waitMs, () => settle('timeout'));
      response.once('close', onClose);
    });
  }

  function findJob(context: RequestContext): ReadonlyJob | undefined {
    const job = engine.find(context.endpointId, context.jobId);
    if (job === undefined) sendError(context.response, 404, `Job ${context.jobId} not found`);
    return job;
  }

  function applyTtl(context: RequestContext, job: ReadonlyJob): void {
    const ttl = ttlParam(context.url);
    if (ttl !== undefined) engine.limitLifetime(job, ttl);
  }

  /** Waits up to `?wait=` for a terminal state; false when the client left or the job was deleted. */
  async function awaitTerminal(context: RequestContext, job: ReadonlyJob): Promise<boolean> {
    if (!isTerminal(job.status)) {
      const waitMs = waitParam(context.url, syncWaitMs);
      const outcome = await hold(context.response, job, () => isTerminal(job.status), waitMs);
      if (outcome === 'aborted') return false;
    }
    if (job.deleted) {
      sendError(context.response, 404, `Job ${job.id} not found`);
      return false;
    }
    return true;
  }

  /** One `/stream` poll: held while the job has no news, then the chunks it takes (RunPod's drain). */
  async function streamPoll(context: RequestContext, job: ReadonlyJob): Promise<void> {
    const { response } = context;

    const waitMs =
      !ignoreStreamWait && context.url.searchParams.has('wait')
        ? waitParam(context.url, streamHoldMs)
        : streamHoldMs;
    const deadline = performance.now() + waitMs;
    const hasNews = (): boolean => job.unreadChunks.length > 0 || isTerminal(job.status);
    let timedOut = false;
    // Loops because a concurrent poll of the same job may take the chunks that woke this one.
    while (!hasNews() && !timedOut && !job.deleted) {
      const outcome = await hold(response, job, hasNews, deadline - performance.now());
      if (outcome === 'aborted') return;
      timedOut = outcome === 'timeout';
    }
    if (job.deleted) return sendError(response, 404, `Job ${job.id} not found`);
    // Chunks are taken only for a client still there to receive them: nothing is lost.
    if (isClosed(response)) return;
    const chunks = engine.takeUnreadChunks(job);
    sendJson(response, 200, {
      status: job.status,
      stream: chunks.map((output) => ({ output })),
    });
  }

  const handlers: Readonly<Record<Operation, (context: RequestContext) => Promise<void> | void>> = {
    run(context) {
      const parsed = parseSubmitBody(context.body, false);
      if (!parsed.ok) return sendError(context.response, 400, parsed.error);
      const job = engine.submit(context.endpointId, parsed.request);
      sendJson(context.response, 200, { id: job.id, status: 'IN_QUEUE' });
    },

    async runsync(context) {
      const parsed = parseSubmitBody(context.body, true);
      if (!parsed.ok) return sendError(context.response, 400, parsed.error);
      const job = engine.submit(context.endpointId, parsed.request);
      if (!(await awaitTerminal(context, job))) return;
      // A job that outlives `wait` keeps running; the client continues with /status (§2.2).
      const body = isTerminal(job.status) ? toJobObject(job) : { id: job.id, status: job.status };
      sendJson(context.response, 200, body);
    },

    status(context) {
      const job = findJob(context);
      if (job === undefined) return;
      applyTtl(context, job);
      sendJson(context.response, 200, toJobObject(job));
    },

    async 'status-sync'(context) {
      const job = findJob(context);
      if (job === undefined) return;
      applyTtl(context, job);
      if (!(await awaitTerminal(context, job))) return;
      sendJson(context.response, 200, toJobObject(job));
    },

    async stream(context) {
      const job = findJob(context);
      if (job === undefined) return;
      const answered = stats.streamPollStarted(job.id);
      try {
        await streamPoll(context, job);
      } finally {
        answered();
      }
    },

    cancel(context) {
      const job = findJob(context);
      if (job === undefined) return;
      sendJson(context.response, 200, { id: job.id, status: engine.cancel(job) });
    },

    retry(context) {
      const job = findJob(context);
      if (job === undefined) return;
      const result = engine.retry(job);
      if (!result.ok) {
        return sendError(
          context.response,
          400,
          `Job ${job.id} is ${result.status}; only FAILED or TIMED_OUT jobs can be retried`,
        );
      }
      sendJson(context.response, 200, { id: job.id, status: 'IN_QUEUE' });
    },

    'purge-queue'(context) {
      const removed = engine.purgeQueue(context.endpointId);
      sendJson(context.response, 200, { removed, status: 'completed' });
    },

    health(context) {
      sendJson(context.response, 200, engine.health(context.endpointId));
    },
  };

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator');
    const [empty, version, endpointId, operation, jobId, ...extra] = url.pathname.split('/');
    const notFound = `No route for ${request.method} ${url.pathname}`;
    if (empty !== '' || version !== 'v2' || endpointId === undefined || operation === undefined) {
      stats.countRequest('other');
      return sendError(response, 404, notFound);
    }
    stats.countRequest(isOperation(operation) || operation === 'openai' ? operation : 'other');
    if (!isAuthorized(request.headers.authorization, apiKey)) {
      return sendError(response, 401, 'Unauthorized');
    }
    if (operation === 'openai') return openAi(request, response, endpointId, [jobId, ...extra]);
    if (!isOperation(operation)) return sendError(response, 404, notFound);
    const rule = OPERATIONS[operation];
    const shapeFits = rule.takesJobId
      ? jobId !== undefined && jobId !== '' && extra.length === 0
      : jobId === undefined;
    if (!shapeFits) return sendError(response, 404, notFound);
    if (
      !ENDPOINT_ID_PATTERN.test(endpointId) ||
      (endpointIds !== undefined && !endpointIds.has(endpointId))
    ) {
      return sendError(response, 404, `Endpoint ${endpointId} not found`);
    }
    const method = request.method === 'GET' || request.method === 'POST' ? request.method : '';
    if (method === '' || !rule.methods.includes(method)) {
      return sendError(response, 405, `Method ${request.method} not allowed`, {
        allow: rule.methods.join(', '),
      });
    }

    const read = await readBody(request, rule.bodyLimitBytes);
    if (!read.ok) {
      return sendError(response, 400, `Request body exceeds ${rule.bodyLimitBytes} bytes`);
    }
    let body: unknown;
    if (method === 'POST' && read.text.trim() !== '') {
      // RunPod's API is written in Go, whose JSON decoder refuses nesting deeper than 10 000.
      if (nestingDepthOf(read.text) > MAX_JSON_DEPTH) {
        return sendError(response, 400, `Request body nests deeper than ${MAX_JSON_DEPTH} levels`);
      }
      try {
        body = JSON.parse(read.text);
      } catch {
        return sendError(response, 400, 'Request body is not valid JSON');
      }
    }
    await handlers[operation]({ endpointId, jobId: jobId ?? '', url, body, response });
  }

  /** `/v2/{endpointId}/openai/v1/…`: the vLLM worker's OpenAI-compatible routes. */
  async function openAi(
    request: IncomingMessage,
    response: ServerResponse,
    endpointId: string,
    parts: readonly (string | undefined)[],
  ): Promise<void> {
    if (
      !ENDPOINT_ID_PATTERN.test(endpointId) ||
      (endpointIds !== undefined && !endpointIds.has(endpointId))
    ) {
      return sendError(response, 404, `Endpoint ${endpointId} not found`);
    }
    const [version, ...rest] = parts;
    if (version !== 'v1' || rest.length === 0) {
      return sendError(response, 404, `No route for ${request.method} ${request.url}`);
    }
    const read = await readBody(request, OPENAI_BODY_LIMIT_BYTES);
    if (!read.ok) return sendError(response, 400, 'Request body too large');
    let body: unknown;
    if (read.text.trim() !== '') {
      try {
        body = JSON.parse(read.text);
      } catch {
        return sendError(response, 400, 'Request body is not valid JSON');
      }
    }
    await serveOpenAi({
      path: rest.join('/'),
      method: request.method ?? '',
      body,
      response,
      timers,
    });
  }

  const server = createServer((request, response) => {
    const startedAt = performance.now();
    response.once('finish', () => {
      const elapsed = (performance.now() - startedAt).toFixed(1);
      log(`${request.method} ${request.url} ${response.statusCode} ${elapsed}ms`);
    });
    route(request, response).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (isClosed(response)) return;
      log(`error on ${request.method} ${request.url}: ${message}`);
      sendError(response, 500, 'Internal Server Error');
    });
  });
  return server;
}
