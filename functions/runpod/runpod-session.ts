import type { RunPodAnswer, RunPodCall, RunPodClient, RunPodStream } from './client.ts';
import { RunPodHttpError } from './errors.ts';

/** One call an operation makes to RunPod, on its request's endpoint. */
export interface UpstreamCall {
  /** Path below the endpoint, from validated parts only, e.g. `status/${jobId}`. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly query?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | undefined;
  /** Reads that may be retried on connection failures and 502/503/504. */
  readonly idempotent?: boolean;
  /** How long the call asks RunPod to hold it (`wait`); added to the upstream timeout. */
  readonly holdMs?: number;
  readonly signal?: AbortSignal;
  /** Another endpoint than the request's (a job the ledger recorded elsewhere). */
  readonly endpointId?: string;
}

export interface RunPodSessionOptions {
  readonly client: RunPodClient;
  /** The RunPod key of the request's surface (read through the secrets cache). */
  readonly apiKey: () => Promise<string>;
  readonly endpointId: string;
  readonly requestId: string;
  /** Epoch ms by which the response must have started. */
  readonly deadline: number;
  /** The operation's upstream timeout, on top of any hold. */
  readonly upstreamTimeoutMs: number;
  /** Told of every answer or failure, for the request's log line. */
  readonly onCall?: (outcome: { status: number | undefined; latencyMs: number }) => void;
}

/**
 * A request's way to RunPod: its surface's key, its endpoint, its deadline (every timeout is cut
 * to it), and the choice between one attempt and retried reads.
 */
export class RunPodSession {
  readonly #options: RunPodSessionOptions;

  constructor(options: RunPodSessionOptions) {
    this.#options = options;
  }

  async call(call: UpstreamCall): Promise<RunPodAnswer> {
    const { client, deadline } = this.#options;
    return this.#attempt(call, call.holdMs ?? 0, (request) =>
      call.idempotent ? client.sendIdempotent(request, { deadline }) : client.send(request),
    );
  }

  /**
   * One attempt whose answer is relayed as it arrives (never retried: it may be generating);
   * the upstream timeout bounds the wait for it to start.
   */
  open(call: Omit<UpstreamCall, 'idempotent' | 'holdMs'>): Promise<RunPodStream> {
    return this.#attempt(call, 0, (request) => this.#options.client.openStream(request));
  }

  /** The call as the client takes it (key, endpoint, timeout cut to the deadline), reported to `onCall`. */
  async #attempt<T extends { readonly status: number }>(
    call: Omit<UpstreamCall, 'idempotent' | 'holdMs'>,
    holdMs: number,
    send: (request: RunPodCall) => Promise<T>,
  ): Promise<T> {
    const { deadline, upstreamTimeoutMs, requestId, onCall } = this.#options;
    const apiKey = await this.#options.apiKey();
    const started = Date.now();
    let status: number | undefined;
    try {
      const answer = await send({
        endpointId: call.endpointId ?? this.#options.endpointId,
        path: call.path,
        method: call.method,
        query: call.query,
        body: call.body,
        apiKey,
        timeoutMs: Math.max(1, Math.min(upstreamTimeoutMs + holdMs, deadline - Date.now())),
        signal: call.signal,
        requestId,
      });
      status = answer.status;
      return answer;
    } catch (error) {
      if (error instanceof RunPodHttpError) status = error.status;
      throw error;
    } finally {
      onCall?.({ status, latencyMs: Date.now() - started });
    }
  }
}
