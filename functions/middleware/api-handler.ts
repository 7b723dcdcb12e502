import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { KeyEntry } from '../auth/key-store.ts';
import { headerOf } from '../http/headers.ts';
import type { GatewayResponse } from '../http/response.ts';
import type { IdempotentSubmissions, StoredSubmission } from '../ledger/idempotent-submissions.ts';
import type { JobOutcome, JobRecord } from '../ledger/job-ledger.ts';
import { noteJobOutcome } from '../ledger/job-outcomes.ts';
import { recordSubmission } from '../ledger/job-submissions.ts';
import { settleJobEnd, submitWithinLimits } from '../limits/job-limits.ts';
import { type Operation, routeFor } from '../routes.ts';
import type { RunPodAnswer, RunPodStream } from '../runpod/client.ts';
import { RunPodSession, type UpstreamCall } from '../runpod/runpod-session.ts';
import { createGatewayRuntime, type GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { authenticate } from './authenticate.ts';
import { concurrencyLimit, endpointBudget, rateLimit } from './key-limits.ts';
import { problemErrors } from './problem-errors.ts';
import { requestContext } from './request-context.ts';
import { type GatewayContext, type RequestState, required } from './request-state.ts';
import { routeEndpoint } from './route-endpoint.ts';
import { validateRequest } from './validate-request.ts';

/** A validated, authenticated, routed request, as an operation sees it. */
export interface GatewayRequest<Query, Body> {
  readonly requestId: string;
  readonly key: KeyEntry;
  readonly surfaceName: string;
  readonly endpointId: string;
  readonly jobId: string | undefined;
  /** The ledger's record of the job a follow-up call acts on. */
  readonly job: JobRecord | undefined;
  readonly query: Query;
  readonly body: Body;
  /** The request body exactly as sent, forwarded upstream unchanged. */
  readonly bodyText: string | undefined;
  readonly deadline: number;
  readonly runtime: GatewayRuntime;
  readonly state: RequestState;
  header(name: string): string | undefined;
  /** Calls RunPod on this request's endpoint with this surface's key. */
  call(call: UpstreamCall): Promise<RunPodAnswer>;
  /** The same, with the answer's body handed over as it arrives (a worker's event stream). */
  open(call: Omit<UpstreamCall, 'idempotent' | 'holdMs'>): Promise<RunPodStream>;
  /** Records the job RunPod just accepted (run, runsync); see `ledger/job-submissions.ts`. */
  recordSubmission(answer: RunPodAnswer, ttlMs: number | undefined): Promise<void>;
  /** Records the job's outcome when `answer` shows it ended; never fails the request. */
  noteOutcome(answer: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * Submits once per `Idempotency-Key` (when the request carries one): a repeat gets the first
   * answer, `replayed`. Without the header it just submits.
   */
  submitOnce(submit: () => Promise<RunPodAnswer>): Promise<{ text: string; replayed: boolean }>;
  /** Keeps the invocation alive until `work` settles, after the response has been sent. */
  linger(work: Promise<void>): void;
}

/** How a submitting operation handles `Idempotency-Key`; its module brings the code for it. */
export type IdempotencyFactory = (options: {
  readonly operation: 'run' | 'runsync';
  readonly tableName: string;
  readonly client: () => Promise<DynamoDBClient>;
}) => IdempotentSubmissions;

export interface OperationSpec<
  QuerySchema extends z.ZodMiniType,
  BodySchema extends z.ZodMiniType,
> {
  readonly operation: Operation;
  /**
   * middy's response streaming mode, for the routes `routes.ts` marks as streaming. The
   * operation module imports it, so buffered functions' bundles do not load it (and the web
   * streams it needs) at cold start.
   */
  readonly executionMode?: typeof executionModeStreamifyResponse;
  readonly query: QuerySchema;
  readonly body?: BodySchema;
  /** For `run` and `runsync`: `Idempotency-Key` support (kept out of the other bundles). */
  readonly idempotency?: IdempotencyFactory;
  readonly handle: (
    request: GatewayRequest<z.infer<QuerySchema>, z.infer<BodySchema>>,
  ) => Promise<GatewayResponse>;
}

/**
 * The one standard chain every operation runs through:
 * request id → problem errors → authenticate → the key's rate and concurrency → validate →
 * resolve endpoint → the endpoint's budget → operation.
 * Streaming routes use middy 7's streamify execution mode (its v6 `streamifyResponse: true`
 * option is silently ignored by v7).
 */
export function createApiHandler<
  QuerySchema extends z.ZodMiniType,
  BodySchema extends z.ZodMiniType,
>(spec: OperationSpec<QuerySchema, BodySchema>) {
  const route = routeFor(spec.operation);
  if ((spec.executionMode !== undefined) !== route.streaming) {
    throw new Error(
      `The ${spec.operation} handler must ${route.streaming ? '' : 'not '}pass middy's streaming execution mode: routes.ts marks the route ${route.streaming ? 'streaming' : 'buffered'}`,
    );
  }
  const runtime = createGatewayRuntime(spec.operation);
  const ledger = runtime.ledger;
  const submissions =
    spec.idempotency && ledger && (spec.operation === 'run' || spec.operation === 'runsync')
      ? spec.idempotency({
          operation: spec.operation,
          tableName: runtime.settings.ledgerTableName ?? '',
          client: () => ledger.client(),
        })
      : undefined;
  const handle = (event: APIGatewayProxyEvent, context: GatewayContext) =>
    spec.handle(
      gatewayRequestOf(runtime, submissions, context, event) as GatewayRequest<
        z.infer<QuerySchema>,
        z.infer<BodySchema>
      >,
    );

  return middy<APIGatewayProxyEvent, GatewayResponse, Error, GatewayContext>({
    ...(spec.executionMode ? { executionMode: spec.executionMode } : {}),
    // Runs after the response body has been written (or its caller left): on Lambda, the
    // invocation, and so the execution environment, lives until lingering work is done.
    requestEnd: (request) => endOf(request.context),
  })
    .use(requestContext(spec.operation))
    .use(problemErrors(spec.operation))
    .use(authenticate(runtime))
    .use(rateLimit(runtime))
    .use(concurrencyLimit(runtime))
    .use(
      validateRequest(runtime, {
        query: spec.query,
        body: spec.body,
        hasJobId: route.path.includes('{jobId}'),
      }),
    )
    .use(routeEndpoint(runtime))
    .use(endpointBudget(runtime))
    .handler(handle);
}

/**
 * What runs when the invocation ends: its lingering work, then what must follow it (a
 * concurrency slot's release). middy types its plugin hooks with the plain Lambda context.
 */
async function endOf(context: object): Promise<void> {
  if (!('gateway' in context)) return;
  const state = context.gateway;
  if (typeof state !== 'object' || state === null) return;
  if ('lingering' in state) await state.lingering;
  if ('atEnd' in state && Array.isArray(state.atEnd)) {
    for (const then of state.atEnd) {
      if (typeof then === 'function') await Promise.resolve(then()).catch(() => undefined);
    }
  }
}

function gatewayRequestOf(
  runtime: GatewayRuntime,
  submissions: IdempotentSubmissions | undefined,
  context: GatewayContext,
  event: APIGatewayProxyEvent,
): GatewayRequest<unknown, unknown> {
  const state = context.gateway;
  const endpointId = required(state.endpointId, 'endpoint');
  const surface = required(state.surface, 'surface');
  const surfaceName = required(state.surfaceName, 'surface');
  const key = required(state.key, 'key');
  const session = new RunPodSession({
    client: runtime.client,
    apiKey: () =>
      runtime.runpodApiKeys.get(surface.apiKeySecret ?? runtime.settings.runpodApiKeyRef),
    endpointId,
    requestId: state.requestId,
    deadline: state.deadline,
    upstreamTimeoutMs: runtime.settings.upstreamTimeoutMs,
    onCall: ({ status, latencyMs }) => {
      if (status !== undefined) state.upstreamStatus = status;
      state.upstreamLatencyMs = latencyMs;
    },
  });
  return {
    requestId: state.requestId,
    key,
    surfaceName,
    endpointId,
    jobId: state.jobId,
    job: state.job,
    query: state.query,
    body: state.body,
    bodyText: state.bodyText,
    deadline: state.deadline,
    runtime,
    state,
    header: (name) => headerOf(event, name),
    call: (call) => session.call(call),
    open: (call) => session.open(call),
    recordSubmission: (answer, ttlMs) => {
      // The submitted job's id goes in the request's log line, as a follow-up's does.
      if (typeof answer.json.id === 'string') state.jobId = answer.json.id;
      return recordSubmission({
        ledger: required(runtime.ledger, 'ledger'),
        session,
        operation: runtime.operation === 'runsync' ? 'runsync' : 'run',
        answer,
        ownerKeyId: key.id,
        surface: surfaceName,
        model: state.model,
        endpointId,
        ttlMs,
        requestId: state.requestId,
        counted: state.jobCounts ?? {},
        onEnd: (job, outcome) => {
          noteGpuTime(state, job, outcome);
          return settleJobEnd(runtime, job, outcome, false);
        },
      });
    },
    noteOutcome: async (answer) => {
      if (runtime.ledger) {
        await noteJobOutcome(
          runtime.ledger,
          state.job,
          answer,
          state.requestId,
          (job, end, rerun) => {
            noteGpuTime(state, job, end);
            return settleJobEnd(runtime, job, end, rerun);
          },
        );
      }
    },
    linger: (work) => {
      state.lingering = work;
    },
    submitOnce: async (submitToRunPod) => {
      const submit = () =>
        submitWithinLimits({
          counters: runtime,
          key,
          submit: (counted) => {
            state.jobCounts = counted;
            return submitToRunPod();
          },
        });
      const clientKey = submissions?.keyOf(headerOf(event, 'idempotency-key'));
      if (submissions === undefined || clientKey === undefined) {
        return { text: (await submit()).text, replayed: false };
      }
      const { stored, replayed } = await submissions.submit({
        consumerKeyId: key.id,
        clientKey,
        request: [surfaceName, endpointId, JSON.stringify(state.query ?? {}), state.bodyText ?? ''],
        context,
        submit: async () => {
          const answer = await submit();
          return submissions.storedOf(answer);
        },
      });
      return { text: await replayTextOf(stored, session), replayed };
    },
  };
}

/**
 * The GPU time of the job end this request recorded, for its log line: the top-consumers rule
 * sums it per owner (a job's end is recorded once, so it is counted once).
 */
function noteGpuTime(state: RequestState, job: JobRecord, outcome: JobOutcome): void {
  if (outcome.executionTime === undefined) return;
  state.logFields = {
    ...state.logFields,
    ownerKeyId: job.ownerKeyId,
    gpuMs: outcome.executionTime,
  };
}

/** A stored first answer, or the job read again from RunPod when it was too large to store. */
async function replayTextOf(stored: StoredSubmission, session: RunPodSession): Promise<string> {
  if ('text' in stored) return stored.text;
  const answer = await session.call({
    path: `status/${stored.jobId}`,
    method: 'GET',
    idempotent: true,
  });
  return answer.text;
}
