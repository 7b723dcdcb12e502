/**
 * Counters for tests and benchmarks. Times are epoch milliseconds with sub-millisecond precision
 * (`performance.timeOrigin + performance.now()`), so they compare with `Date.now()` in any process
 * and with `performance.timeOrigin + performance.now()` in this one — a benchmark computes chunk
 * lag as (time its client saw the chunk) − `producedAt[i]`.
 */

export interface JobChunkTimes {
  /** When chunk i was yielded by the simulated worker and became readable on `/stream`. */
  readonly producedAt: readonly number[];
  /** When chunk i left the simulator in a `/stream` response. */
  readonly deliveredAt: readonly number[];
  /** The most `/stream` polls of this job the simulator was holding or answering at once. */
  readonly maxConcurrentPolls: number;
}

export interface SimulatorStats {
  /**
   * Requests received per operation: `run`, `runsync`, `status`, `status-sync`, `stream`,
   * `cancel`, `retry`, `purge-queue`, `health`; anything else counts as `other`. Counted on
   * arrival, whatever the answer (401 and 404 included).
   */
  readonly requests: Readonly<Record<string, number>>;
  /** Per job id, for jobs that streamed a chunk or were polled on `/stream`, while they exist. */
  readonly chunks: Readonly<Record<string, JobChunkTimes>>;
}

export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

interface MutableChunkTimes {
  producedAt: number[];
  deliveredAt: number[];
  pollsInFlight: number;
  maxConcurrentPolls: number;
}

export class StatsRecorder {
  readonly #requests = new Map<string, number>();
  readonly #chunks = new Map<string, MutableChunkTimes>();

  countRequest(operation: string): void {
    this.#requests.set(operation, (this.#requests.get(operation) ?? 0) + 1);
  }

  chunkProduced(jobId: string): void {
    this.#timesOf(jobId).producedAt.push(epochNow());
  }

  chunksDelivered(jobId: string, count: number): void {
    if (count === 0) return;
    const deliveredAt = this.#timesOf(jobId).deliveredAt;
    const now = epochNow();
    for (let index = 0; index < count; index += 1) deliveredAt.push(now);
  }

  /** A `/stream` poll of the job started; call the returned function when it is answered. */
  streamPollStarted(jobId: string): () => void {
    const times = this.#timesOf(jobId);
    times.pollsInFlight += 1;
    times.maxConcurrentPolls = Math.max(times.maxConcurrentPolls, times.pollsInFlight);
    return () => {
      times.pollsInFlight -= 1;
    };
  }

  /** A retried job streams again from chunk 0. */
  resetChunks(jobId: string): void {
    this.#chunks.delete(jobId);
  }

  /** Called when a job is deleted, so a long-running simulator does not grow without bound. */
  forgetJob(jobId: string): void {
    this.#chunks.delete(jobId);
  }

  snapshot(): SimulatorStats {
    const chunks: Record<string, JobChunkTimes> = {};
    for (const [jobId, times] of this.#chunks) {
      chunks[jobId] = {
        producedAt: [...times.producedAt],
        deliveredAt: [...times.deliveredAt],
        maxConcurrentPolls: times.maxConcurrentPolls,
      };
    }
    return { requests: Object.fromEntries(this.#requests), chunks };
  }

  #timesOf(jobId: string): MutableChunkTimes {
    let times = this.#chunks.get(jobId);
    if (times === undefined) {
      times = { producedAt: [], deliveredAt: [], pollsInFlight: 0, maxConcurrentPolls: 0 };
      this.#chunks.set(jobId, times);
    }
    return times;
  }
}
