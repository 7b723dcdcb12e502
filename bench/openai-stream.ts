import { request as httpRequest } from 'node:http';
import { ENDPOINT_ID, localBenchKeys, SURFACE } from './events.ts';
import { gatewayEnvOf, READY, startSimulatorProcess } from './local-servers.ts';
import { baseEnv, type ServerProcess, startServerProcess, tsxArgs } from './processes.ts';
import { median, percentile, round } from './stats.ts';

/**
 * A streamed chat completion through the gateway's OpenAI-compatible route against the same
 * request straight to the simulator's vLLM face, run alternately: time to the first token, the
 * gaps between tokens (the worker leaves `intervalMs` between them), and whether the first token
 * reached the client before the worker sent its last (nothing buffered).
 */
export interface OpenAiStreamResult {
  readonly tokens: number;
  readonly intervalMs: number;
  readonly firstTokenDelayMs: number;
  readonly repetitions: number;
  readonly direct: OpenAiStreamMeasure;
  readonly gateway: OpenAiStreamMeasure;
  /** Median time to first token, gateway minus direct. */
  readonly addedTtftP50Ms: number;
  /** p99 of the gaps between tokens, gateway minus direct. */
  readonly addedGapP99Ms: number;
  /** Every gateway run's first token arrived before its last was sent. */
  readonly firstBeforeLast: boolean;
}

export interface OpenAiStreamMeasure {
  readonly ttftMs: { readonly p50: number; readonly p90: number };
  readonly gapMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Median time from the first token to the last. */
  readonly spanMs: number;
}

interface Run {
  readonly ttftMs: number;
  readonly gapsMs: readonly number[];
  readonly spanMs: number;
}

export async function measureOpenAiStream(options: {
  readonly tokens: number;
  readonly intervalMs: number;
  readonly firstTokenDelayMs: number;
  readonly repetitions: number;
  readonly log: (line: string) => void;
}): Promise<OpenAiStreamResult> {
  const started: ServerProcess[] = [];
  try {
    const keys = await localBenchKeys('openai');
    const simulator = await startSimulatorProcess('openai-simulator', keys.simKey);
    started.push(simulator);
    const gateway = await startServerProcess({
      name: 'openai-gateway',
      args: tsxArgs('local/main.ts'),
      env: baseEnv(
        gatewayEnvOf(keys, simulator.ready, { LOG_LEVEL: 'ERROR', SWEEP_INTERVAL_MS: '0' }),
      ),
      readyPattern: READY.server,
    });
    started.push(gateway);
    const body = JSON.stringify({
      model: 'bench-model',
      messages: [{ role: 'user', content: 'Stream me some tokens' }],
      stream: true,
      sim: {
        tokens: options.tokens,
        tokenIntervalMs: options.intervalMs,
        firstTokenDelayMs: options.firstTokenDelayMs,
      },
    });
    const targets = {
      direct: {
        url: `${simulator.ready}/${ENDPOINT_ID}/openai/v1/chat/completions`,
        key: keys.simKey,
      },
      gateway: {
        url: `${gateway.ready}/v1/runpod/${SURFACE}/openai/v1/chat/completions`,
        key: keys.token,
      },
    } as const;
    // Warm both paths (connections, the gateway's first invocation).
    for (let index = 0; index < 3; index++) {
      await streamOnce(targets.direct.url, targets.direct.key, body);
      await streamOnce(targets.gateway.url, targets.gateway.key, body);
    }
    const runs = { direct: [] as Run[], gateway: [] as Run[] };
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      // Alternate which goes first, so drift in the machine's load falls on both.
      const order =
        repetition % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const);
      for (const target of order) {
        runs[target].push(await streamOnce(targets[target].url, targets[target].key, body));
      }
    }
    const direct = measureOf(runs.direct);
    const viaGateway = measureOf(runs.gateway);
    const expectedSpan = (options.tokens - 1) * options.intervalMs;
    const result: OpenAiStreamResult = {
      tokens: options.tokens,
      intervalMs: options.intervalMs,
      firstTokenDelayMs: options.firstTokenDelayMs,
      repetitions: options.repetitions,
      direct,
      gateway: viaGateway,
      addedTtftP50Ms: round(viaGateway.ttftMs.p50 - direct.ttftMs.p50, 2),
      addedGapP99Ms: round(viaGateway.gapMs.p99 - direct.gapMs.p99, 2),
      // Buffered, the tokens would arrive at once: the span from first to last would be ~0.
      firstBeforeLast: runs.gateway.every((run) => run.spanMs > expectedSpan * 0.5),
    };
    options.log(
      `  openai stream: ttft p50 direct ${direct.ttftMs.p50} ms, gateway ${viaGateway.ttftMs.p50} ms (+${result.addedTtftP50Ms}); gap p99 direct ${direct.gapMs.p99} ms, gateway ${viaGateway.gapMs.p99} ms`,
    );
    return result;
  } finally {
    for (const process of started.reverse()) await process.stop();
  }
}

function measureOf(runs: readonly Run[]): OpenAiStreamMeasure {
  const ttfts = runs.map((run) => run.ttftMs);
  const gaps = runs.flatMap((run) => run.gapsMs);
  return {
    ttftMs: { p50: round(median(ttfts), 2), p90: round(percentile(ttfts, 90), 2) },
    gapMs: {
      p50: round(median(gaps), 2),
      p99: round(percentile(gaps, 99), 2),
      max: round(Math.max(...gaps), 2),
    },
    spanMs: round(median(runs.map((run) => run.spanMs)), 2),
  };
}

/** One streamed completion: when each token's event arrived, from the request's start. */
function streamOnce(url: string, key: string, body: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const arrivals: number[] = [];
    let pending = '';
    const request = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          Accept: 'text/event-stream',
        },
      },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`${url} answered ${response.statusCode}`));
          response.resume();
          return;
        }
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          const at = performance.now();
          pending += text;
          const events = pending.split('\n\n');
          pending = events.pop() ?? '';
          for (const event of events) {
            if (event.startsWith('data: {') && event.includes('"content":"token'))
              arrivals.push(at);
          }
        });
        response.once('end', () => {
          const first = arrivals[0] ?? Number.NaN;
          resolve({
            ttftMs: first - started,
            gapsMs: arrivals.slice(1).map((at, index) => at - (arrivals[index] ?? at)),
            spanMs: (arrivals.at(-1) ?? first) - first,
          });
        });
        response.once('error', reject);
      },
    );
    request.once('error', reject);
    request.end(body);
  });
}
