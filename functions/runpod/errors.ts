/**
 * What can go wrong talking to RunPod. These know nothing of HTTP problems or status codes
 * the gateway answers with; `http/map-error.ts` maps them in one place.
 */
export class RunPodError extends Error {
  override name = 'RunPodError';
}

/** RunPod answered with a non-2xx status. `message` is RunPod's own text, if it sent one. */
export class RunPodHttpError extends RunPodError {
  override name = 'RunPodHttpError';
  readonly status: number;
  readonly upstreamMessage: string | undefined;
  readonly retryAfter: string | undefined;

  constructor(status: number, upstreamMessage: string | undefined, retryAfter: string | undefined) {
    super(`RunPod answered ${status}`);
    this.status = status;
    this.upstreamMessage = upstreamMessage;
    this.retryAfter = retryAfter;
  }
}

/** The request never got an answer: refused, reset, DNS failure. */
export class RunPodNetworkError extends RunPodError {
  override name = 'RunPodNetworkError';
}

export class RunPodTimeoutError extends RunPodError {
  override name = 'RunPodTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`RunPod did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** RunPod's answer was larger than the gateway accepts (`MAX_UPSTREAM_BODY_BYTES`). */
export class RunPodResponseTooLargeError extends RunPodError {
  override name = 'RunPodResponseTooLargeError';
  readonly limitBytes: number;

  constructor(limitBytes: number) {
    super(`RunPod's answer was larger than the gateway accepts (${limitBytes} bytes)`);
    this.limitBytes = limitBytes;
  }
}

/** RunPod answered 2xx with a body that is not the JSON document expected. */
export class RunPodInvalidResponseError extends RunPodError {
  override name = 'RunPodInvalidResponseError';
}
