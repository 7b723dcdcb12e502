import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { KeyEntry } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import type { GatewayResponse } from '../http/response.ts';
import type { JobCounts, JobRecord } from '../ledger/job-ledger.ts';
import type { Operation } from '../routes.ts';
import type { SurfaceConfig } from '../routing/routing-config.ts';

/** What the middleware chain learns about a request, step by step. */
export interface RequestState {
  readonly requestId: string;
  readonly operation: Operation;
  readonly startedAt: number;
  /** Epoch ms by which the response must have started. */
  readonly deadline: number;
  key?: KeyEntry;
  surfaceName?: string;
  surface?: SurfaceConfig;
  jobId?: string;
  query?: unknown;
  body?: unknown;
  /** The request body as sent, forwarded upstream unchanged (numbers keep their precision). */
  bodyText?: string;
  endpointId?: string;
  /** `?model=` or `input.model`, as routed. */
  model?: string;
  /** The ledger's record of the job a follow-up call acts on (after the ownership check). */
  job?: JobRecord;
  /** What the key's limits counted for the job being submitted, for its record. */
  jobCounts?: JobCounts;
  /** Headers every answer to this request carries, success or problem (RateLimit). */
  responseHeaders?: Record<string, string>;
  /** Run when the invocation ends, after any lingering work (a concurrency slot's release). */
  atEnd?: (() => Promise<void>)[];
  /** Work that outlives the response (a stream relay journaling after its caller left). */
  lingering?: Promise<void>;
  /** Further fields of the completion log line (an OpenAI answer's model and tokens). */
  logFields?: Record<string, string | number>;
  /** For the completion log line. */
  upstreamStatus?: number;
  upstreamLatencyMs?: number;
}

export interface GatewayContext extends Context {
  gateway: RequestState;
}

/**
 * A middleware of the gateway's chain, typed with middy's own parameters: the REST proxy event,
 * the gateway's response, and a context carrying the request's state.
 */
export type GatewayMiddleware = MiddlewareObj<
  APIGatewayProxyEvent,
  GatewayResponse,
  Error,
  GatewayContext
>;

/** Reads a state field a previous middleware must have set; missing means a wiring bug. */
export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) {
    throw new GatewayError('internal_error', `The gateway failed unexpectedly (${name})`);
  }
  return value;
}
