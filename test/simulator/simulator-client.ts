/**
 * A minimal RunPod client for the simulator tests: real HTTP with `fetch`, one endpoint id.
 */
import { afterEach } from 'vitest';
import {
  type RunningSimulator,
  type SimulatorOptions,
  startSimulator,
} from '../../local/simulator/index.ts';

export const ENDPOINT_ID = 'sim-endpoint';
export const API_KEY = 'test-key';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; the simulator answers JSON on every route. */
  readonly body: Record<string, unknown>;
  /** ms from sending the request to reading the whole answer. */
  readonly elapsedMs: number;
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly body?: unknown;
  /** Sent as is instead of `body` (for malformed payloads). */
  readonly rawBody?: string;
  readonly authorization?: string | null;
  readonly endpointId?: string;
  readonly signal?: AbortSignal;
}

export interface TestSimulator {
  readonly simulator: RunningSimulator;
  call(path: string, options?: CallOptions): Promise<ApiResponse>;
  /** POST /run and return the job id. */
  submit(input: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  status(jobId: string): Promise<Record<string, unknown>>;
  /** Polls /status until `accept` holds (every 5 ms, up to `timeoutMs`). */
  waitFor(
    jobId: string,
    accept: (job: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

const running = new Set<RunningSimulator>();
afterEach(async () => {
  await Promise.all([...running].map((simulator) => simulator.close()));
  running.clear();
});

export async function startTestSimulator(
  options: Partial<SimulatorOptions> = {},
): Promise<TestSimulator> {
  const simulator = await startSimulator({ apiKey: API_KEY, ...options });
  running.add(simulator);

  async function call(path: string, options: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const authorization =
      options.authorization === undefined ? `Bearer ${API_KEY}` : options.authorization;
    if (authorization !== null) headers.authorization = authorization;
    const started = performance.now();
    const response = await fetch(
      `${simulator.baseUrl}/${options.endpointId ?? ENDPOINT_ID}${path}`,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        body:
          options.rawBody ??
          (options.body === undefined ? undefined : JSON.stringify(options.body)),
        signal: options.signal,
      },
    );
    const body = (await response.json()) as Record<string, unknown>;
    return {
      status: response.status,
      headers: response.headers,
      body,
      elapsedMs: performance.now() - started,
    };
  }

  async function submit(
    input: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const response = await call('/run', { body: { input, ...extra } });
    if (response.status !== 200 || typeof response.body.id !== 'string') {
      throw new Error(`/run answered ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body.id;
  }

  async function status(jobId: string): Promise<Record<string, unknown>> {
    const response = await call(`/status/${jobId}`);
    if (response.status !== 200) {
      throw new Error(`/status answered ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  async function waitFor(
    jobId: string,
    accept: (job: Record<string, unknown>) => boolean,
    timeoutMs = 5_000,
  ): Promise<Record<string, unknown>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const job = await status(jobId);
      if (accept(job)) return job;
      if (performance.now() > deadline) {
        throw new Error(`job ${jobId} never matched; last seen ${JSON.stringify(job)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  return { simulator, call, submit, status, waitFor };
}

export function isStatus(...statuses: string[]): (job: Record<string, unknown>) => boolean {
  return (job) => typeof job.status === 'string' && statuses.includes(job.status);
}

/**
 * Reads /stream until a terminal status comes with an empty stream (the Python SDK's loop),
 * returning every chunk output in order.
 */
export async function drainStream(
  client: TestSimulator,
  jobId: string,
  wait = 1_000,
): Promise<{ outputs: unknown[]; polls: number; finalStatus: unknown }> {
  const outputs: unknown[] = [];
  let polls = 0;
  for (;;) {
    const { status, body } = await client.call(`/stream/${jobId}?wait=${wait}`);
    polls += 1;
    if (status !== 200 || !Array.isArray(body.stream)) {
      throw new Error(`/stream answered ${status} ${JSON.stringify(body)}`);
    }
    for (const chunk of body.stream as { output: unknown }[]) outputs.push(chunk.output);
    const terminal = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(
      String(body.status),
    );
    if (terminal && body.stream.length === 0) return { outputs, polls, finalStatus: body.status };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
