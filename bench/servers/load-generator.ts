import autocannon from 'autocannon';

/**
 * autocannon in its own process, driven over IPC. Every 2xx response's latency is kept at full
 * precision (autocannon's own histogram rounds to whole milliseconds, too coarse for a 0.15 ms
 * budget) and summarized here.
 */
export interface LoadRequest {
  readonly id: number;
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly method: string;
  readonly headers: Record<string, string>;
}

export interface LoadReport {
  readonly id: number;
  readonly requests: number;
  readonly perSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly mean: number;
  };
  readonly errors: number;
  readonly non2xx: number;
}

function at(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ] as number;
}

async function run(request: LoadRequest): Promise<LoadReport> {
  const latencies: number[] = [];
  const started = performance.now();
  const instance = autocannon({
    url: request.url,
    connections: request.connections,
    duration: request.durationSeconds,
    method: request.method,
    headers: request.headers,
    timeout: 10,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const elapsedSeconds = Math.min(result.duration, (performance.now() - started) / 1000);
  const sorted = Float64Array.from(latencies).sort();
  let total = 0;
  for (const value of latencies) total += value;
  return {
    id: request.id,
    requests: latencies.length,
    perSecond: latencies.length / elapsedSeconds,
    latencyMs: {
      p50: at(sorted, 50),
      p90: at(sorted, 90),
      p99: at(sorted, 99),
      mean: total / latencies.length,
    },
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

process.on('message', (request: LoadRequest) => {
  run(request).then(
    (report) => process.send?.(report),
    (error: unknown) => process.send?.({ id: request.id, error: String(error) }),
  );
});
console.log('load generator ready');
