import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  RunPodHttpError,
  RunPodNetworkError,
  RunPodTimeoutError,
} from '../../../functions/runpod/errors.ts';
import type { StreamPoll } from '../../../functions/runpod/job-status.ts';
import {
  type JobStreamOptions,
  type JobStreamSource,
  relayJobStream,
  type StreamOutcome,
} from '../../../functions/streaming/job-stream-relay.ts';

type PollStep = StreamPoll | Error | ((signal: AbortSignal) => Promise<StreamPoll>);

interface PollRecord {
  readonly waitMs: number;
  readonly signal: AbortSignal;
  readonly at: number;
}

/** Waits until the signal aborts, then rejects as a real aborted request would. */
function untilAborted(signal: AbortSignal): Promise<StreamPoll> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function answeredAfter(ms: number, poll: StreamPoll): (signal: AbortSignal) => Promise<StreamPoll> {
  return (signal) => sleep(ms, poll, { signal });
}

/** A job's /stream and /status as a script: each poll takes the next step, then `otherwise` forever. */
class FakeJobSource implements JobStreamSource {
  readonly polls: PollRecord[] = [];
  readonly #script: PollStep[];
  readonly #otherwise: PollStep;
  readonly #final: Record<string, unknown> | Error;
  finalStatusCalls = 0;

  constructor(
    script: PollStep[],
    options: { otherwise?: PollStep; final?: Record<string, unknown> | Error } = {},
  ) {
    this.#script = [...script];
    this.#otherwise = options.otherwise ?? untilAborted;
    this.#final = options.final ?? {};
  }

  async poll(waitMs: number, signal: AbortSignal): Promise<StreamPoll> {
    this.polls.push({ waitMs, signal, at: Date.now() });
    const step = this.#script.shift() ?? this.#otherwise;
    if (step instanceof Error) throw step;
    if (typeof step === 'function') return step(signal);
    return step;
  }

  async finalStatus(): Promise<Record<string, unknown>> {
    this.finalStatusCalls++;
    if (this.#final instanceof Error) throw this.#final;
    return this.#final;
  }
}

interface Summary {
  outcome: StreamOutcome;
  code?: string;
  chunks: number;
  polls: number;
}

function relay(source: JobStreamSource, overrides: Partial<JobStreamOptions> = {}) {
  const finishes: Summary[] = [];
  const stream = relayJobStream({
    jobId: 'job-1',
    requestId: 'req-1',
    initialStatus: 'IN_QUEUE',
    source,
    endsAt: Date.now() + 60_000,
    keepAliveMs: 60_000,
    pollWaitMs: 10_000,
    // Whether the caller had left is asserted where it matters.
    onFinish: ({ callerLeft: _callerLeft, ...summary }) => finishes.push(summary),
    ...overrides,
  });
  return { stream, finishes };
}

/** Reads the whole body and waits for the stream to close. */
async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  if (!stream.closed) await new Promise((resolve) => stream.once('close', resolve));
  return text;
}

interface Frame {
  id?: number;
  event?: string;
  data?: unknown;
  comment?: string;
}

function framesOf(text: string): Frame[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
        else if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
        else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      return frame;
    });
}

const events = (frames: Frame[]) => frames.filter((frame) => frame.comment === undefined);
const outputs = (frames: Frame[]) => frames.filter((frame) => frame.event === 'output');

describe('relayJobStream', () => {
  it('relays every chunk in order with increasing ids, then one done event with the final fields', async () => {
    // Prepare
    const source = new FakeJobSource(
      [
        { status: 'IN_PROGRESS', stream: [{ output: 'a' }, { output: 'b' }] },
        { status: 'IN_PROGRESS', stream: [{ output: { text: 'c' } }] },
        { status: 'COMPLETED', stream: [{ output: 'd' }] },
      ],
      {
        final: {
          id: 'job-1',
          status: 'COMPLETED',
          executionTime: 1_200,
          delayTime: 30,
          workerId: 'worker-9',
          retries: 0,
          output: 'the whole output again',
        },
      },
    );
    const { stream } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(frames).toEqual([
      { event: 'status', data: { id: 'job-1', status: 'IN_QUEUE' } },
      { event: 'status', data: { id: 'job-1', status: 'IN_PROGRESS' } },
      { id: 1, event: 'output', data: 'a' },
      { id: 2, event: 'output', data: 'b' },
      { id: 3, event: 'output', data: { text: 'c' } },
      { id: 4, event: 'output', data: 'd' },
      {
        event: 'done',
        data: {
          id: 'job-1',
          status: 'COMPLETED',
          executionTime: 1_200,
          delayTime: 30,
          workerId: 'worker-9',
          retries: 0,
        },
      },
    ]);
    expect(source.polls).toHaveLength(3);
  });

  it('reports a job that had already ended with done only, after the output RunPod still holds', async () => {
    // Prepare
    const source = new FakeJobSource([{ status: 'COMPLETED', stream: [{ output: 'last' }] }]);
    const { stream } = relay(source, { initialStatus: 'COMPLETED' });

    // Act
    const frames = events(framesOf(await readAll(stream)));

    // Assess
    expect(frames.map((frame) => frame.event)).toEqual(['output', 'done']);
    expect(frames.at(-1)).toMatchObject({
      event: 'done',
      data: { id: 'job-1', status: 'COMPLETED' },
    });
  });

  it('sends a status event only when the status changes', async () => {
    // Prepare
    const source = new FakeJobSource([
      { status: 'IN_QUEUE', stream: [] },
      { status: 'IN_QUEUE' },
      { status: 'IN_PROGRESS', stream: [] },
      { status: 'IN_PROGRESS', stream: [{ output: 1 }] },
      { status: 'IN_PROGRESS' },
      { status: 'COMPLETED' },
    ]);
    const { stream } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(frames.map((frame) => [frame.event, frame.data])).toEqual([
      ['status', { id: 'job-1', status: 'IN_QUEUE' }],
      ['status', { id: 'job-1', status: 'IN_PROGRESS' }],
      ['output', 1],
      ['done', { id: 'job-1', status: 'COMPLETED' }],
    ]);
  });

  it('reports a failed job once, in done, with its error and timings, and writes nothing after it', async () => {
    // Prepare
    const source = new FakeJobSource(
      [{ status: 'IN_PROGRESS', stream: [{ output: 'partial' }] }, { status: 'FAILED' }],
      {
        final: {
          id: 'job-1',
          status: 'FAILED',
          error: 'CUDA out of memory',
          executionTime: 950,
          delayTime: 12,
        },
        otherwise: { status: 'FAILED', stream: [{ output: 'must never be polled' }] },
      },
    );
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));
    await sleep(30);

    // Assess
    expect(frames.filter((frame) => frame.event === 'done')).toHaveLength(1);
    expect(frames.at(-1)).toEqual({
      event: 'done',
      data: {
        id: 'job-1',
        status: 'FAILED',
        error: 'CUDA out of memory',
        executionTime: 950,
        delayTime: 12,
      },
    });
    expect(
      frames.some(
        (frame) => frame.event === 'status' && JSON.stringify(frame.data).includes('FAILED'),
      ),
    ).toBe(false);
    expect(source.polls).toHaveLength(2);
    expect(source.finalStatusCalls).toBe(1);
    expect(finishes).toEqual([{ outcome: 'done', chunks: 1, polls: 2 }]);
  });

  it('still ends with done, carrying id and status, when the final status cannot be read', async () => {
    // Prepare
    const source = new FakeJobSource([{ status: 'COMPLETED', stream: [{ output: 'x' }] }], {
      final: new RunPodTimeoutError(10_000),
    });
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(frames.at(-1)).toEqual({ event: 'done', data: { id: 'job-1', status: 'COMPLETED' } });
    expect(finishes).toEqual([{ outcome: 'done', chunks: 1, polls: 1 }]);
  });

  it('relays a chunk without an output field as it is', async () => {
    // Prepare
    const source = new FakeJobSource([
      { status: 'COMPLETED', stream: ['raw text', { other: 1 }, null] },
    ]);
    const { stream } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(outputs(frames).map((frame) => frame.data)).toEqual(['raw text', { other: 1 }, null]);
  });

  it('asks RunPod to hold each poll for the configured wait', async () => {
    // Prepare
    const source = new FakeJobSource([{ status: 'IN_PROGRESS' }, { status: 'COMPLETED' }]);
    const { stream } = relay(source, { pollWaitMs: 4_000 });

    // Act
    await readAll(stream);

    // Assess
    expect(source.polls.map((poll) => poll.waitMs)).toEqual([4_000, 4_000]);
  });

  it('pauses for Retry-After after a 429, then continues without losing chunks', async () => {
    // Prepare
    const source = new FakeJobSource([
      { status: 'IN_PROGRESS', stream: [{ output: 'a' }] },
      new RunPodHttpError(429, 'rate limited', '1'),
      { status: 'COMPLETED', stream: [{ output: 'b' }] },
    ]);
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(outputs(frames)).toEqual([
      { id: 1, event: 'output', data: 'a' },
      { id: 2, event: 'output', data: 'b' },
    ]);
    expect(frames.some((frame) => frame.event === 'error')).toBe(false);
    const [, limited, resumed] = source.polls;
    expect((resumed?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect((resumed?.at ?? 0) - (limited?.at ?? 0)).toBeLessThan(3_000);
    expect(finishes).toEqual([{ outcome: 'done', chunks: 2, polls: 3 }]);
  });

  it('ends with an error event naming RunPod\u2019s wait when a 429 pause would run past the end of the stream', async () => {
    // Prepare
    const source = new FakeJobSource([new RunPodHttpError(429, undefined, '999999')]);
    const { stream, finishes } = relay(source, { endsAt: Date.now() + 5_000 });
    const started = Date.now();

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess: not `timeout`, which would invite an immediate reconnect into the same limit.
    expect(events(frames).at(-1)).toMatchObject({
      event: 'error',
      data: { status: 429, code: 'upstream_rate_limited', retryAfterSeconds: 999_999 },
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(source.polls).toHaveLength(1);
    expect(finishes).toEqual([
      { outcome: 'error', code: 'upstream_rate_limited', chunks: 0, polls: 1 },
    ]);
  });

  it.each([
    ['0', '0'],
    ['a date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT'],
  ])('pauses at least a second after a 429 whose Retry-After is %s', async (_case, retryAfter) => {
    // Prepare
    const source = new FakeJobSource([new RunPodHttpError(429, undefined, retryAfter)], {
      otherwise: { status: 'COMPLETED', stream: [{ output: 'a' }] },
    });
    const { stream } = relay(source);

    // Act
    await readAll(stream);

    // Assess
    const [first, second] = source.polls;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('backs off when RunPod answers empty polls at once instead of holding them', async () => {
    // Prepare: an upstream that ignores `wait`.
    const source = new FakeJobSource([], { otherwise: { status: 'IN_PROGRESS', stream: [] } });
    const { stream } = relay(source, { endsAt: Date.now() + 3_600 });

    // Act
    await readAll(stream);

    // Assess: 0, 200, 600, 1400, 3000 ms…, not thousands of polls.
    expect(source.polls.length).toBeGreaterThanOrEqual(3);
    expect(source.polls.length).toBeLessThanOrEqual(6);
  });

  it('polls again at once while chunks flow', async () => {
    // Prepare
    const chunks = Array.from({ length: 20 }, (_, index) => ({
      status: 'IN_PROGRESS',
      stream: [{ output: index }],
    }));
    const source = new FakeJobSource(chunks, {
      otherwise: { status: 'COMPLETED', stream: [] },
    });
    const { stream } = relay(source);
    const started = Date.now();

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(events(frames).filter((event) => event.event === 'output')).toHaveLength(20);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('ends with an error event holding a problem when a poll times out, and polls no more', async () => {
    // Prepare
    const source = new FakeJobSource(
      [{ status: 'IN_PROGRESS', stream: [{ output: 'a' }] }, new RunPodTimeoutError(10_000)],
      { otherwise: { status: 'COMPLETED', stream: [{ output: 'must never be polled' }] } },
    );
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));
    await sleep(30);

    // Assess
    expect(events(frames).at(-1)).toEqual({
      event: 'error',
      data: {
        type: 'about:blank',
        status: 504,
        title: 'RunPod did not answer in time',
        code: 'upstream_timeout',
        requestId: 'req-1',
        detail: expect.stringMatching(
          /^RunPod did not answer within 10000 ms\. .*call this route again to resume/,
        ),
        error: expect.stringMatching(/^RunPod did not answer within 10000 ms\. /),
      },
    });
    expect(outputs(frames).map((frame) => frame.data)).toEqual(['a']);
    expect(source.polls).toHaveLength(2);
    expect(finishes).toEqual([{ outcome: 'error', code: 'upstream_timeout', chunks: 1, polls: 2 }]);
  });

  it('polls again after a refused connection, since no chunk can have been drained', async () => {
    // Prepare: shaped as the RunPod client reports a refused connection
    const refused = new RunPodNetworkError('RunPod could not be reached', {
      cause: new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), {
          code: 'ECONNREFUSED',
        }),
      }),
    });
    const source = new FakeJobSource([refused, { status: 'COMPLETED', stream: [{ output: 'a' }] }]);
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(events(frames).map((frame) => frame.event)).toEqual(['status', 'output', 'done']);
    expect(source.polls).toHaveLength(2);
    expect(finishes).toEqual([{ outcome: 'done', chunks: 1, polls: 2 }]);
  });

  it('does not poll again after a connection reset, since the failed poll may have drained chunks', async () => {
    // Prepare
    const reset = new RunPodNetworkError('RunPod could not be reached', {
      cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    });
    const source = new FakeJobSource([reset], { otherwise: { status: 'COMPLETED' } });
    const { stream, finishes } = relay(source);

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(events(frames).at(-1)).toMatchObject({
      event: 'error',
      data: { code: 'upstream_unreachable' },
    });
    expect(source.polls).toHaveLength(1);
    expect(finishes).toEqual([
      { outcome: 'error', code: 'upstream_unreachable', chunks: 0, polls: 1 },
    ]);
  });

  it('ends with a timeout event once endsAt is reached, never asking RunPod to hold past it', async () => {
    // Prepare
    const source = new FakeJobSource([], {
      otherwise: answeredAfter(50, { status: 'IN_PROGRESS', stream: [] }),
    });
    const { stream, finishes } = relay(source, { endsAt: Date.now() + 1_700 });

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(events(frames).at(-1)).toEqual({
      event: 'timeout',
      data: {
        id: 'job-1',
        status: 'IN_PROGRESS',
        detail: expect.stringContaining('call this route again to resume'),
      },
    });
    expect(source.polls.length).toBeGreaterThanOrEqual(1);
    for (const poll of source.polls) {
      expect(poll.waitMs).toBeGreaterThanOrEqual(1_000);
      expect(poll.waitMs).toBeLessThanOrEqual(1_200);
    }
    expect(finishes).toEqual([{ outcome: 'timeout', chunks: 0, polls: source.polls.length }]);
  });

  it('ends with a timeout event without polling when too little time is left', async () => {
    // Prepare
    const source = new FakeJobSource([{ status: 'COMPLETED' }]);
    const { stream } = relay(source, { endsAt: Date.now() + 1_000 });

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(frames.map((frame) => frame.event)).toEqual(['status', 'timeout']);
    expect(source.polls).toHaveLength(0);
  });

  it('writes a keep-alive comment while the job is idle', async () => {
    // Prepare
    const source = new FakeJobSource([
      answeredAfter(150, { status: 'COMPLETED', stream: [{ output: 'late' }] }),
    ]);
    const { stream } = relay(source, { keepAliveMs: 30 });

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    const keepAlives = frames.filter((frame) => frame.comment === 'keep-alive');
    expect(keepAlives.length).toBeGreaterThanOrEqual(2);
    expect(frames[0]?.event).toBe('status');
    expect(frames.at(-1)?.event).toBe('done');
    expect(events(frames).map((frame) => frame.event)).toEqual(['status', 'output', 'done']);
  });

  it('writes no keep-alive while events keep flowing faster than the keep-alive interval', async () => {
    // Prepare
    const source = new FakeJobSource([
      answeredAfter(10, { status: 'IN_PROGRESS', stream: [{ output: 1 }] }),
      answeredAfter(10, { status: 'IN_PROGRESS', stream: [{ output: 2 }] }),
      answeredAfter(10, { status: 'COMPLETED', stream: [{ output: 3 }] }),
    ]);
    const { stream } = relay(source, { keepAliveMs: 500 });

    // Act
    const frames = framesOf(await readAll(stream));

    // Assess
    expect(frames.some((frame) => frame.comment !== undefined)).toBe(false);
  });

  it('aborts the pending poll and polls no more when the caller goes away', async () => {
    // Prepare
    let secondPollStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      secondPollStarted = resolve;
    });
    const source = new FakeJobSource([{ status: 'IN_PROGRESS', stream: [{ output: 'a' }] }], {
      otherwise: (signal) => {
        secondPollStarted();
        return untilAborted(signal);
      },
    });
    const { stream, finishes } = relay(source);
    stream.resume();
    await started;

    // Act
    stream.destroy();
    await sleep(50);

    // Assess
    expect(source.polls).toHaveLength(2);
    expect(source.polls[1]?.signal.aborted).toBe(true);
    expect(finishes).toEqual([{ outcome: 'disconnected', chunks: 1, polls: 2 }]);
  });

  it('polls no more when the caller goes away during a rate-limit pause', async () => {
    // Prepare
    const source = new FakeJobSource([new RunPodHttpError(429, undefined, '0.2')], {
      otherwise: { status: 'COMPLETED' },
    });
    const { stream, finishes } = relay(source);
    stream.resume();
    await sleep(50);

    // Act
    stream.destroy();
    await sleep(250);

    // Assess
    expect(source.polls).toHaveLength(1);
    expect(finishes).toEqual([{ outcome: 'disconnected', chunks: 0, polls: 1 }]);
  });

  it('calls onFinish exactly once when the stream ends and then closes', async () => {
    // Prepare
    const source = new FakeJobSource([
      { status: 'COMPLETED', stream: [{ output: 'x' }, { output: 'y' }] },
    ]);
    const { stream, finishes } = relay(source);

    // Act
    await readAll(stream);
    stream.destroy();
    await sleep(10);

    // Assess
    expect(finishes).toEqual([{ outcome: 'done', chunks: 2, polls: 1 }]);
  });
});
