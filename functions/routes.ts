/**
 * The gateway's routes: one table read by the Lambda handlers (timeouts), the CDK stack
 * (resources, integrations, function timeouts) and the local runtime (routing, streaming).
 *
 * Paths are relative to `/v1/runpod/{surface}`, but for the gateway-wide routes' (`/v1/usage`):
 * `resourcePathOf` gives the whole path.
 */
export const OPERATIONS = [
  'run',
  'runsync',
  'status',
  'status-sync',
  'stream',
  'cancel',
  'retry',
  'purge-queue',
  'health',
  'usage',
  'openai-chat',
  'openai-completions',
  'openai-embeddings',
  'openai-models',
  'openapi',
] as const;

export type Operation = (typeof OPERATIONS)[number];

export interface RouteDefinition {
  readonly operation: Operation;
  /**
   * HTTP methods accepted. `status`, `status-sync` and `stream` also take POST because RunPod's
   * Go SDK polls with POST.
   */
  readonly methods: readonly ('GET' | 'POST')[];
  /** Path below `/v1/runpod/{surface}` (or `/v1`, when `gatewayWide`); `{jobId}` is the only path parameter. */
  readonly path: string;
  /**
   * A route of the gateway itself, outside every surface (`/v1/usage`): no surface grant, no
   * endpoint, no RunPod call.
   */
  readonly gatewayWide?: true;
  /**
   * A route of the worker's OpenAI-compatible API (`/openai/v1/…`): passed through to the
   * endpoint's own, and its errors answered in OpenAI's shape, which OpenAI clients parse.
   */
  readonly openAi?: true;
  /** Served without a key (the API's own description). */
  readonly public?: true;
  /**
   * Whether the response uses Lambda response streaming. Routes that can carry outputs
   * above Lambda's 6 MB buffered limit, or wait longer than API Gateway's 29 s buffered
   * integration timeout, stream even when they write a single JSON document.
   */
  readonly streaming: boolean;
  /** Lambda timeout; for streamed routes the API Gateway integration timeout matches it. */
  readonly functionTimeoutSeconds: number;
  /** Default upstream timeout, on top of any hold (`wait`) the request asks RunPod for. */
  readonly upstreamTimeoutMs: number;
  /**
   * What the operation does with the job ledger: `record` a job it submits, `lookup` the job it
   * acts on (its owner and endpoint), `report` from its records (usage), or nothing. The
   * construct grants table access from this.
   */
  readonly ledger: LedgerUse;
}

export type LedgerUse = 'record' | 'lookup' | 'report' | 'none';

export const API_PREFIX = '/v1/runpod/{surface}';
/** Where the gateway-wide routes live. */
export const GATEWAY_PREFIX = '/v1';

/** Buffered API Gateway integrations are cut at 29 s; the function answers before that. */
export const BUFFERED_INTEGRATION_TIMEOUT_SECONDS = 29;

export const ROUTES: readonly RouteDefinition[] = [
  {
    operation: 'run',
    methods: ['POST'],
    path: '/run',
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 10_000,
    ledger: 'record',
  },
  {
    operation: 'runsync',
    methods: ['POST'],
    path: '/runsync',
    streaming: true,
    // RunPod holds up to `wait` = 300 s; leave room for the upstream timeout on top.
    functionTimeoutSeconds: 360,
    upstreamTimeoutMs: 15_000,
    ledger: 'record',
  },
  {
    operation: 'status',
    methods: ['GET', 'POST'],
    path: '/status/{jobId}',
    streaming: true,
    functionTimeoutSeconds: 60,
    upstreamTimeoutMs: 10_000,
    ledger: 'lookup',
  },
  {
    // RunPod's JS SDK `runSync`/`statusSync` and Go's `RunSync` wait for a job here once the
    // first `runsync` wait is over.
    operation: 'status-sync',
    methods: ['GET', 'POST'],
    path: '/status-sync/{jobId}',
    streaming: true,
    // RunPod holds up to `wait` = 300 s, as for runsync.
    functionTimeoutSeconds: 360,
    upstreamTimeoutMs: 10_000,
    ledger: 'lookup',
  },
  {
    operation: 'stream',
    methods: ['GET', 'POST'],
    path: '/stream/{jobId}',
    streaming: true,
    functionTimeoutSeconds: 900,
    upstreamTimeoutMs: 10_000,
    ledger: 'lookup',
  },
  {
    operation: 'cancel',
    methods: ['POST'],
    path: '/cancel/{jobId}',
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 10_000,
    ledger: 'lookup',
  },
  {
    operation: 'retry',
    methods: ['POST'],
    path: '/retry/{jobId}',
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 10_000,
    ledger: 'lookup',
  },
  {
    operation: 'purge-queue',
    methods: ['POST'],
    path: '/purge-queue',
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 10_000,
    ledger: 'none',
  },
  {
    operation: 'health',
    methods: ['GET'],
    path: '/health',
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 5_000,
    ledger: 'none',
  },
  {
    // A key's own usage (every key's, on the surfaces an operator key acts on all jobs of).
    operation: 'usage',
    methods: ['GET'],
    path: '/usage',
    gatewayWide: true,
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 5_000,
    ledger: 'report',
  },
  {
    // vLLM workers' OpenAI-compatible API. Streamed: an answer may take minutes (or stream as
    // Server-Sent Events with `"stream": true`) and outgrow the 6 MB buffered limit.
    operation: 'openai-chat',
    methods: ['POST'],
    path: '/openai/v1/chat/completions',
    openAi: true,
    streaming: true,
    functionTimeoutSeconds: 900,
    // Until the answer starts (a whole answer without `stream`); the stream's limits after.
    upstreamTimeoutMs: 600_000,
    ledger: 'none',
  },
  {
    operation: 'openai-completions',
    methods: ['POST'],
    path: '/openai/v1/completions',
    openAi: true,
    streaming: true,
    functionTimeoutSeconds: 900,
    upstreamTimeoutMs: 600_000,
    ledger: 'none',
  },
  {
    operation: 'openai-embeddings',
    methods: ['POST'],
    path: '/openai/v1/embeddings',
    openAi: true,
    // A large batch of vectors passes 6 MB.
    streaming: true,
    functionTimeoutSeconds: 120,
    upstreamTimeoutMs: 100_000,
    ledger: 'none',
  },
  {
    operation: 'openai-models',
    methods: ['GET'],
    path: '/openai/v1/models',
    openAi: true,
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 10_000,
    ledger: 'none',
  },
  {
    // The OpenAPI 3.1 document of every route (docs/openapi.json), for client generators.
    operation: 'openapi',
    methods: ['GET'],
    path: '/openapi.json',
    gatewayWide: true,
    public: true,
    streaming: false,
    functionTimeoutSeconds: 29,
    upstreamTimeoutMs: 5_000,
    ledger: 'none',
  },
];

/**
 * The operations that hold a connection for long (RunPod's holds, the SSE relay): what a key's
 * `limits.concurrent` counts and what the construct caps with reserved concurrency by default.
 */
export const LONG_RUNNING_OPERATIONS: ReadonlySet<Operation> = new Set([
  'runsync',
  'status-sync',
  'stream',
  'openai-chat',
  'openai-completions',
]);

/** The route's whole resource path, as API Gateway and the local runtime serve it. */
export function resourcePathOf(route: RouteDefinition): string {
  return `${route.gatewayWide ? GATEWAY_PREFIX : API_PREFIX}${route.path}`;
}

export function routeFor(operation: Operation): RouteDefinition {
  const route = ROUTES.find((candidate) => candidate.operation === operation);
  if (!route) throw new Error(`No route for operation ${operation}`);
  return route;
}

/** The file name of each operation's handler module under `functions/operations/`. */
export function handlerFileOf(operation: Operation): string {
  return `${operation}.ts`;
}
