/**
 * The simulated worker is scripted by the job itself: `input.sim` says how long the job queues and
 * runs, what it outputs or streams, and how it fails. This module turns `input.sim` into a
 * validated {@link WorkerScript}; `simulated-handler.ts` plays it. The rules are the reference
 * table in `docs/simulator.md` — keep the two in step.
 *
 * A malformed `input.sim` is rejected at submission (400) rather than ignored, so a typo in a test
 * (`durationMS`) fails loudly instead of silently running the default job.
 */

export const DEFAULT_QUEUE_MS = 50;
export const DEFAULT_DURATION_MS = 100;
export const DEFAULT_CHUNK_INTERVAL_MS = 10;
export const SIMULATED_FAILURE_MESSAGE = 'simulated failure';

/** Upper bounds keep a bad knob from wedging the simulator (7 days is RunPod's own policy max). */
const MAX_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_CHUNKS = 1_000_000;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

const KNOWN_KNOBS = new Set([
  'queueMs',
  'durationMs',
  'output',
  'outputBytes',
  'stream',
  'chunkIntervalMs',
  'firstChunkDelayMs',
  'aggregate',
  'fail',
  'failTimes',
  'failAfterChunks',
  'timeout',
  'progress',
]);

export interface StreamPlan {
  readonly count: number;
  /** The value yielded as chunk `index` (0-based). */
  readonly valueAt: (index: number) => unknown;
  readonly firstChunkDelayMs: number;
  readonly chunkIntervalMs: number;
  /** `return_aggregate_stream`: the final output is the list of yielded values instead of `[]`. */
  readonly aggregate: boolean;
  /** Chunks yielded before a failing attempt raises; equals `count` unless `failAfterChunks`. */
  readonly failAfterChunks: number;
}

export interface WorkerScript {
  readonly queueMs: number;
  /** Execution time of a non-streaming attempt; streaming attempts last as long as their chunks. */
  readonly durationMs: number;
  /** Built only when an attempt completes, so a queued 20 MB job holds no 20 MB string. */
  readonly makeOutput: () => unknown;
  readonly stream: StreamPlan | undefined;
  /** How many attempts fail (`Infinity` = all), and with which error. */
  readonly failure: { readonly attempts: number; readonly message: string } | undefined;
  /** The attempt ends TIMED_OUT after `durationMs` (or after its chunks, when streaming). */
  readonly timeout: boolean;
  readonly progress: readonly unknown[];
}

export type WorkerScriptResult =
  | { readonly ok: true; readonly script: WorkerScript }
  | { readonly ok: false; readonly error: string };

class KnobError extends Error {}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readMs(sim: Record<string, unknown>, name: string, fallback: number): number {
  const value = sim[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_MS) {
    throw new KnobError(`input.sim.${name} must be a number of milliseconds from 0 to ${MAX_MS}`);
  }
  return value;
}

function readCount(
  sim: Record<string, unknown>,
  name: string,
  max: number,
  fallback?: number,
): number | undefined {
  const value = sim[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new KnobError(`input.sim.${name} must be an integer from 0 to ${max}`);
  }
  return value;
}

function readBoolean(sim: Record<string, unknown>, name: string): boolean {
  const value = sim[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new KnobError(`input.sim.${name} must be a boolean`);
  return value;
}

function numberedChunk(index: number): unknown {
  return { index, text: `chunk ${index}` };
}

function readStream(sim: Record<string, unknown>): StreamPlan | undefined {
  const stream = sim.stream;
  if (stream === undefined) {
    for (const name of ['chunkIntervalMs', 'firstChunkDelayMs', 'aggregate', 'failAfterChunks']) {
      if (sim[name] !== undefined) throw new KnobError(`input.sim.${name} needs input.sim.stream`);
    }
    return undefined;
  }
  let count: number;
  let valueAt: (index: number) => unknown;
  if (Array.isArray(stream)) {
    if (stream.length > MAX_CHUNKS) throw new KnobError(`input.sim.stream has over ${MAX_CHUNKS}`);
    const values: readonly unknown[] = stream;
    count = values.length;
    valueAt = (index) => values[index];
  } else if (typeof stream === 'number' && Number.isInteger(stream) && stream >= 0) {
    if (stream > MAX_CHUNKS) throw new KnobError(`input.sim.stream must be at most ${MAX_CHUNKS}`);
    count = stream;
    valueAt = numberedChunk;
  } else {
    throw new KnobError('input.sim.stream must be a chunk count or an array of chunk values');
  }
  for (const name of ['output', 'outputBytes', 'progress', 'durationMs']) {
    if (sim[name] !== undefined) {
      throw new KnobError(`input.sim.${name} cannot be combined with input.sim.stream`);
    }
  }
  const chunkIntervalMs = readMs(sim, 'chunkIntervalMs', DEFAULT_CHUNK_INTERVAL_MS);
  const failAfterChunks = readCount(sim, 'failAfterChunks', MAX_CHUNKS, count) ?? count;
  return {
    count,
    valueAt,
    chunkIntervalMs,
    firstChunkDelayMs: readMs(sim, 'firstChunkDelayMs', chunkIntervalMs),
    aggregate: readBoolean(sim, 'aggregate'),
    failAfterChunks: Math.min(failAfterChunks, count),
  };
}

function readFailure(sim: Record<string, unknown>): WorkerScript['failure'] {
  const fail = sim.fail;
  if (fail !== undefined && typeof fail !== 'string') {
    throw new KnobError('input.sim.fail must be the error string');
  }
  const failTimes = readCount(sim, 'failTimes', Number.MAX_SAFE_INTEGER);
  if (failTimes !== undefined) {
    return { attempts: failTimes, message: fail ?? SIMULATED_FAILURE_MESSAGE };
  }
  if (fail !== undefined) return { attempts: Number.POSITIVE_INFINITY, message: fail };
  if (sim.failAfterChunks !== undefined) {
    throw new KnobError('input.sim.failAfterChunks needs input.sim.fail or input.sim.failTimes');
  }
  return undefined;
}

function readOutput(
  sim: Record<string, unknown>,
  input: Readonly<Record<string, unknown>>,
): () => unknown {
  if (sim.output !== undefined && sim.outputBytes !== undefined) {
    throw new KnobError('input.sim.output and input.sim.outputBytes are exclusive');
  }
  const outputBytes = readCount(sim, 'outputBytes', MAX_OUTPUT_BYTES);
  if (outputBytes !== undefined) return () => 'x'.repeat(outputBytes);
  if (sim.output !== undefined) {
    const output = sim.output;
    return () => output;
  }
  const { sim: _sim, ...rest } = input;
  return () => ({ echo: rest });
}

function readProgress(sim: Record<string, unknown>): readonly unknown[] {
  const progress = sim.progress;
  if (progress === undefined) return [];
  if (!Array.isArray(progress)) throw new KnobError('input.sim.progress must be an array');
  return progress;
}

/** Reads `input.sim`; a job without it gets the default script (echo its input). */
export function parseWorkerScript(input: Readonly<Record<string, unknown>>): WorkerScriptResult {
  const sim = input.sim ?? {};
  if (!isPlainObject(sim)) return { ok: false, error: 'input.sim must be an object' };
  try {
    for (const name of Object.keys(sim)) {
      if (!KNOWN_KNOBS.has(name)) throw new KnobError(`input.sim.${name} is not a simulator knob`);
    }
    const stream = readStream(sim);
    return {
      ok: true,
      script: {
        queueMs: readMs(sim, 'queueMs', DEFAULT_QUEUE_MS),
        durationMs: readMs(sim, 'durationMs', DEFAULT_DURATION_MS),
        makeOutput: readOutput(sim, input),
        stream,
        failure: readFailure(sim),
        timeout: readBoolean(sim, 'timeout'),
        progress: readProgress(sim),
      },
    };
  } catch (error) {
    if (error instanceof KnobError) return { ok: false, error: error.message };
    throw error;
  }
}
