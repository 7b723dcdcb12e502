/**
 * Delivers the terminal-state webhook as RunPod does (reference §12): a JSON POST of the job object
 * plus `input` and `webhook`, from a Go HTTP client, retried on any failure or non-2xx answer with
 * gaps of 5 s then 15 s (three attempts in all). Delivery never affects the job.
 */
import { randomBytes } from 'node:crypto';
import type { TimerSet } from './timer-set.ts';

export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [5_000, 15_000];

/** A receiver that neither answers nor fails is given up on after this long. */
const ATTEMPT_TIMEOUT_MS = 10_000;

export class WebhookSender {
  readonly #timers: TimerSet;
  readonly #retryDelaysMs: readonly number[];
  readonly #log: (line: string) => void;
  readonly #closing = new AbortController();

  constructor(timers: TimerSet, retryDelaysMs: readonly number[], log: (line: string) => void) {
    this.#timers = timers;
    this.#retryDelaysMs = retryDelaysMs;
    this.#log = log;
  }

  send(url: string, payload: unknown): void {
    const body = JSON.stringify(payload);
    void this.#attempt(url, body, 0);
  }

  /** Aborts deliveries in flight; their retry timers die with the shared TimerSet. */
  close(): void {
    this.#closing.abort();
  }

  async #attempt(url: string, body: string, attempt: number): Promise<void> {
    if (this.#closing.signal.aborted) return;
    let failure: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Go-http-client/2.0',
          traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
        },
        body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      if (response.ok) return;
      failure = `HTTP ${response.status}`;
    } catch (error) {
      if (this.#closing.signal.aborted) return;
      failure = error instanceof Error ? error.message : String(error);
    }
    const delay = this.#retryDelaysMs[attempt];
    this.#log(
      `webhook ${url} attempt ${attempt + 1} failed (${failure})${delay === undefined ? '; giving up' : ''}`,
    );
    if (delay !== undefined) {
      this.#timers.after(delay, () => void this.#attempt(url, body, attempt + 1));
    }
  }
}
