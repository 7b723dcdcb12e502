import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestState } from '../../../functions/middleware/request-state.ts';
import { emfLinesOf } from '../../helpers/emf.ts';

/** The metric line per request: its dimension sets by mode, and nothing written when disabled. */
async function linesWith(env: Record<string, string>): Promise<string> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { publishRequestMetrics } = await import(
    '../../../functions/observability/request-metrics.ts'
  );
  const written: string[] = [];
  const write = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
  const state = {
    requestId: 'req-1',
    operation: 'status',
    startedAt: Date.now() - 12,
    deadline: Date.now() + 1000,
    surface: { endpointId: 'chatendpoint01' },
    surfaceName: 'chat',
    key: { id: 'team-a', sha256: 'x'.repeat(64), surfaces: ['chat'] },
    jobId: 'job-1',
    upstreamStatus: 429,
    upstreamLatencyMs: 5,
  } as RequestState;
  publishRequestMetrics(state, 429, 'upstream_rate_limited', {});
  write.mockRestore();
  return written.join('');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the request metric line', () => {
  it('has the totals and the breakdown by operation and surface, with ids as properties', async () => {
    const [line] = emfLinesOf(await linesWith({}));
    const aws = line?.root._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] };

    expect(aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['service'],
      ['service', 'operation', 'surface'],
    ]);
    expect(line?.metrics).toMatchObject({ Requests: 1, Errors4xx: 1, RunPod429: 1 });
    expect(line?.root).toMatchObject({ keyId: 'team-a', jobId: 'job-1', requestId: 'req-1' });
  });

  it('keeps the totals only with METRICS_BREAKDOWN=off, and writes nothing when disabled', async () => {
    const [line] = emfLinesOf(await linesWith({ METRICS_BREAKDOWN: 'off' }));
    const aws = line?.root._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] };
    const disabled = await linesWith({ POWERTOOLS_METRICS_DISABLED: 'true' });

    expect(aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    expect(line?.root).toMatchObject({ operation: 'status', surface: 'chat' });
    expect(disabled).toBe('');
  });
});
