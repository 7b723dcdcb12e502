import type { SimulatorStats } from '../local/simulator/index.ts';
import { ENDPOINT_ID, localBenchKeys, SURFACE } from './events.ts';
import { gatewayEnvOf, READY, startLedgerProcess, startSimulatorProcess } from './local-servers.ts';
import {
  baseEnv,
  epochNow,
  ipcRequest,
  type ServerProcess,
  sleep,
  startServerProcess,
  tsxArgs,
} from './processes.ts';
import type { LedgerStats } from './servers/ledger-main.ts';
import { median, percentile, round } from './stats.ts';

/**
 * Streaming: jobs that yield N chunks at a fixed pace, read through the gateway's SSE route
 * (`npm start`'s server → simulator, separate processes) and, as the floor, by a client that
 * long-polls the simulator's `/stream` directly with the gateway's own `wait`. Lag is the client's
 * receive time minus the simulator's `producedAt` for that chunk (both epoch ms). Upstream polls
 * are the simulator's `/stream` request count. An idle job (queued for longer than the window)
 * measures polls per 5 s on a gateway + simulator pair of its own, while the busy runs go on.
 */
export interface StreamRunMeasure {
  readonly chunks: number;
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Request sent → first chunk received. */
  readonly ttfcMs: number;
  /** Request sent → first byte of any kind (the SSE `status` event; the first poll's answer for direct). */
  readonly ttfbMs: number;
  /** `/stream` requests the simulator received per chunk delivered. */
  readonly pollsPerChunk: number;
  /** Every upstream request (`/stream` + `/status`) per chunk delivered. */
  readonly upstreamCallsPerChunk: number;
  /** `/stream` requests the simulator received. */
  readonly polls: number;
}

export interface StreamScenarioResult {
  readonly streams: number;
  readonly chunksPerStream: number;
  readonly chunkIntervalMs: number;
  readonly repetitions: number;
  /** Medians over repetitions (lag percentiles pooled over all chunks of a repetition). */
  readonly gateway: StreamRunMeasure;
  readonly direct: StreamRunMeasure;
  /** The same runs through a gateway with the stream journal off (`STREAM_JOURNAL=off`). */
  readonly unjournaled: StreamRunMeasure;
  /** Median over repetitions of (gateway lag p50 − direct lag p50). */
  readonly addedLagP50Ms: number;
  readonly addedTtfcMs: number;
  /** Median over repetitions of (gateway lag p50 − unjournaled gateway lag p50). */
  readonly journalAddedLagP50Ms: number;
  /** Journal page writes per upstream `/stream` poll (the journaled gateway). */
  readonly journalWritesPerPoll: number;
  /** Relay lease writes per stream (taken, renewed, kept at the end). */
  readonly leaseWritesPerStream: number;
}

/** Several SSE viewers of each job at once: one relay polls RunPod, the others follow the journal. */
export interface StreamViewersResult {
  readonly viewers: number;
  readonly chunksPerJob: number;
  readonly chunkIntervalMs: number;
  readonly repetitions: number;
  /** Lag over every viewer's chunks (medians over repetitions). */
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** `/stream` polls RunPod received per chunk of the job (not per chunk delivered). */
  readonly pollsPerChunk: number;
  readonly journalWritesPerPoll: number;
  /** Relay lease writes per job, all viewers together. */
  readonly leaseWritesPerJob: number;
}

export interface StreamingResult {
  readonly scenarios: readonly StreamScenarioResult[];
  readonly viewers?: StreamViewersResult;
  /**
   * One SSE client on a queued job against an upstream that answers every empty `/stream` poll at
   * once (ignoring `wait`): the upstream calls the relay makes per second.
   */
  readonly noHold?: {
    readonly windowSeconds: number;
    readonly streamPolls: number;
    readonly pollsPerSecond: number;
  };
  readonly idle: {
    readonly windowSeconds: number;
    readonly streamPolls: number;
    readonly pollsPer5s: number;
    /** The gateway's long-poll hold (STREAM_POLL_WAIT_MS default). */
    readonly pollWaitMs: number;
  };
}

export interface StreamingOptions {
  readonly scenarios: readonly {
    streams: number;
    chunks: number;
    intervalMs: number;
    repetitions: number;
  }[];
  readonly viewers: { viewers: number; chunks: number; intervalMs: number; repetitions: number };
  readonly idleWindowSeconds: number;
  readonly log: (line: string) => void;
}

const QUEUE_MS = 200;
/** The gateway's default (functions/config/settings.ts DEFAULT_STREAM_POLL_WAIT_MS); the direct client uses the same. */
const POLL_WAIT_MS = 10_000;

interface Pair {
  readonly simulator: ServerProcess;
  /** The ledger engine behind a counting proxy, for the pair that counts journal writes. */
  readonly ledger?: ServerProcess;
  readonly gatewayUrl: string;
  /** A second gateway on the same simulator and ledger, with the stream journal off. */
  readonly unjournaledUrl?: string;
  readonly simulatorUrl: string;
  readonly simKey: string;
  readonly token: string;
}

interface ChunkArrival {
  readonly index: number;
  readonly at: number;
}

interface ReadOutcome {
  readonly jobId: string;
  readonly sentAt: number;
  readonly firstByteAt: number;
  readonly arrivals: readonly ChunkArrival[];
}

/** How long the no-hold case is watched (the relay's backoff reaches its 2 s ceiling in ~3 s). */
const NO_HOLD_WINDOW_SECONDS = 10;

export async function measureStreaming(options: StreamingOptions): Promise<StreamingResult> {
  const processes: ServerProcess[] = [];
  try {
    const busy = await startPair('busy', processes, {}, { countLedger: true });
    const idlePair = await startPair('idle', processes);
    const idle = measureIdle(idlePair, options.idleWindowSeconds);
    // The same idle job against an upstream that answers every empty poll at once.
    const noHoldPair = await startPair('nohold', processes, { SIM_IGNORE_STREAM_WAIT: '1' });
    const noHold = measureIdle(noHoldPair, NO_HOLD_WINDOW_SECONDS);
    const scenarios: StreamScenarioResult[] = [];
    for (const scenario of options.scenarios) {
      // Unmeasured warm-up of both paths.
      for (const path of PATHS)
        await runScenario(busy, path, scenario.streams, 5, scenario.intervalMs);
      const runs: Record<StreamPath, StreamRunMeasure[]> = {
        gateway: [],
        unjournaled: [],
        direct: [],
      };
      const writesPerPoll: number[] = [];
      const leaseWritesPerStream: number[] = [];
      for (let repetition = 0; repetition < scenario.repetitions; repetition++) {
        // Rotated, so no path always runs first (or last) on a machine that warms or tires.
        const order = PATHS.map(
          (_, index) => PATHS[(index + repetition) % PATHS.length] ?? 'direct',
        );
        for (const path of order) {
          const ledgerBefore = await ledgerStatsOf(busy);
          const run = await runScenario(
            busy,
            path,
            scenario.streams,
            scenario.chunks,
            scenario.intervalMs,
          );
          runs[path].push(run);
          if (path === 'gateway') {
            const writes = writesOf(ledgerBefore, await ledgerStatsOf(busy));
            writesPerPoll.push(writes.journal / run.polls);
            leaseWritesPerStream.push(writes.lease / scenario.streams);
          }
        }
      }
      const result: StreamScenarioResult = {
        streams: scenario.streams,
        chunksPerStream: scenario.chunks,
        chunkIntervalMs: scenario.intervalMs,
        repetitions: scenario.repetitions,
        gateway: medianOf(runs.gateway),
        direct: medianOf(runs.direct),
        addedLagP50Ms: round(
          median(
            runs.gateway.map((run, index) => run.lagMs.p50 - (runs.direct[index]?.lagMs.p50 ?? 0)),
          ),
          2,
        ),
        addedTtfcMs: round(
          median(runs.gateway.map((run, index) => run.ttfcMs - (runs.direct[index]?.ttfcMs ?? 0))),
          2,
        ),
        unjournaled: medianOf(runs.unjournaled),
        journalAddedLagP50Ms: round(
          median(
            runs.gateway.map(
              (run, index) => run.lagMs.p50 - (runs.unjournaled[index]?.lagMs.p50 ?? 0),
            ),
          ),
          2,
        ),
        journalWritesPerPoll: round(median(writesPerPoll), 3),
        leaseWritesPerStream: round(median(leaseWritesPerStream), 3),
      };
      scenarios.push(result);
      options.log(
        `  stream ${scenario.streams}×${scenario.chunks} chunks @${scenario.intervalMs} ms: gateway lag p50 ${result.gateway.lagMs.p50} p99 ${result.gateway.lagMs.p99} ms, ${result.gateway.pollsPerChunk} polls/chunk, ${result.journalWritesPerPoll} journal writes/poll, ${result.leaseWritesPerStream} lease writes/stream; journal off p50 ${result.unjournaled.lagMs.p50} p99 ${result.unjournaled.lagMs.p99} ms; direct lag p50 ${result.direct.lagMs.p50} p99 ${result.direct.lagMs.p99} ms`,
      );
    }
    const viewers = await measureViewers(busy, options.viewers);
    options.log(
      `  stream ${viewers.viewers} viewers × ${viewers.chunksPerJob} chunks @${viewers.chunkIntervalMs} ms: lag p50 ${viewers.lagMs.p50} p99 ${viewers.lagMs.p99} ms, ${viewers.pollsPerChunk} polls per chunk, ${viewers.journalWritesPerPoll} journal writes/poll, ${viewers.leaseWritesPerJob} lease writes/job`,
    );
    const idleResult = await idle;
    options.log(
      `  stream idle: ${idleResult.streamPolls} polls in ${idleResult.windowSeconds} s → ${idleResult.pollsPer5s} per 5 s`,
    );
    const noHoldResult = await noHold;
    const noHoldPerSecond = round(noHoldResult.streamPolls / noHoldResult.windowSeconds, 2);
    options.log(
      `  stream against an upstream that ignores wait: ${noHoldResult.streamPolls} polls in ${noHoldResult.windowSeconds} s → ${noHoldPerSecond} per s`,
    );
    return {
      scenarios,
      viewers,
      idle: idleResult,
      noHold: {
        windowSeconds: noHoldResult.windowSeconds,
        streamPolls: noHoldResult.streamPolls,
        pollsPerSecond: noHoldPerSecond,
      },
    };
  } finally {
    for (const started of processes.reverse()) await started.stop();
  }
}

/**
 * A simulator and a gateway (`npm start`'s runtime) in processes of their own. With
 * `countLedger`, the gateway's ledger engine runs in a process behind a counting proxy, and a
 * second gateway with the stream journal off shares the simulator and the ledger.
 */
async function startPair(
  name: string,
  processes: ServerProcess[],
  simulatorEnv: Readonly<Record<string, string>> = {},
  options: { countLedger?: boolean } = {},
): Promise<Pair> {
  const keys = await localBenchKeys(`stream-${name}`);
  const simulator = await startSimulatorProcess(`stream-${name}-simulator`, keys.simKey, {
    SIM_WORKERS: '64',
    ...simulatorEnv,
  });
  processes.push(simulator);
  let ledger: ServerProcess | undefined;
  if (options.countLedger) {
    ledger = await startLedgerProcess(`stream-${name}-ledger`);
    processes.push(ledger);
  }
  const ledgerEnv: Record<string, string> = ledger ? { DYNAMODB_ENDPOINT: ledger.ready } : {};
  const startGateway = async (suffix: string, env: Record<string, string>) => {
    const gateway = await startServerProcess({
      name: `stream-${name}-gateway${suffix}`,
      args: tsxArgs('local/main.ts'),
      env: baseEnv(gatewayEnvOf(keys, simulator.ready, { ...ledgerEnv, ...env })),
      readyPattern: READY.server,
    });
    processes.push(gateway);
    return gateway.ready;
  };
  const gatewayUrl = await startGateway('', {});
  const unjournaledUrl = ledger
    ? await startGateway('-unjournaled', { STREAM_JOURNAL: 'off' })
    : undefined;
  return {
    simulator,
    ledger,
    gatewayUrl,
    unjournaledUrl,
    simulatorUrl: simulator.ready,
    simKey: keys.simKey,
    token: keys.token,
  };
}

async function ledgerStatsOf(pair: Pair): Promise<LedgerStats | undefined> {
  if (!pair.ledger) return undefined;
  return (await ipcRequest<{ stats: LedgerStats }>(pair.ledger.child, { type: 'stats' })).stats;
}

/** Journal page writes and relay lease writes between two readings of the counting ledger. */
function writesOf(
  before: LedgerStats | undefined,
  after: LedgerStats | undefined,
): { journal: number; lease: number } {
  if (!before || !after) return { journal: Number.NaN, lease: Number.NaN };
  return {
    journal: after.writes.journal - before.writes.journal,
    lease: after.writes.lease - before.writes.lease,
  };
}

async function statsOf(pair: Pair): Promise<SimulatorStats> {
  return (await ipcRequest<{ stats: SimulatorStats }>(pair.simulator.child, { type: 'stats' }))
    .stats;
}

async function submit(pair: Pair, sim: Record<string, number>): Promise<string> {
  // Submitted through the gateway, so that its ledger knows the job's owner (a stream of a job
  // the gateway never saw is refused); only the stream is measured. The direct path streams the
  // same kind of job, submitted the same way.
  const response = await fetch(`${pair.gatewayUrl}/v1/runpod/${SURFACE}/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pair.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { sim } }),
  });
  const body = (await response.json()) as { id?: string };
  if (!response.ok || typeof body.id !== 'string')
    throw new Error(`submit failed: ${response.status}`);
  return body.id;
}

/** The SSE route with the journal (the product's default), without it, and RunPod directly. */
type StreamPath = 'gateway' | 'unjournaled' | 'direct';
const PATHS: readonly StreamPath[] = ['direct', 'gateway', 'unjournaled'];

async function runScenario(
  pair: Pair,
  path: StreamPath,
  streams: number,
  chunks: number,
  intervalMs: number,
): Promise<StreamRunMeasure> {
  const before = (await statsOf(pair)).requests;
  const jobIds = await Promise.all(
    Array.from({ length: streams }, () =>
      submit(pair, { stream: chunks, chunkIntervalMs: intervalMs, queueMs: QUEUE_MS }),
    ),
  );
  const reads = await Promise.all(
    jobIds.map((jobId) =>
      path === 'direct'
        ? readDirect(pair, jobId)
        : readSse(path === 'gateway' ? pair.gatewayUrl : (pair.unjournaledUrl ?? ''), pair, jobId),
    ),
  );
  const stats = await statsOf(pair);
  for (const read of reads) {
    if (read.arrivals.length !== chunks)
      throw new Error(
        `${path}: job ${read.jobId} delivered ${read.arrivals.length} of ${chunks} chunks`,
      );
  }
  const lags = lagsOf(reads, stats);
  const delivered = reads.reduce((sum, read) => sum + read.arrivals.length, 0);
  const ttfcs = reads.map((read) => (read.arrivals[0]?.at ?? Number.NaN) - read.sentAt);
  const ttfbs = reads.map((read) => read.firstByteAt - read.sentAt);
  const streamPolls = (stats.requests.stream ?? 0) - (before.stream ?? 0);
  const statusCalls = (stats.requests.status ?? 0) - (before.status ?? 0);
  return {
    chunks: delivered,
    lagMs: {
      p50: round(percentile(lags, 50), 2),
      p99: round(percentile(lags, 99), 2),
      max: round(Math.max(...lags), 2),
    },
    ttfcMs: round(median(ttfcs), 2),
    ttfbMs: round(median(ttfbs), 2),
    pollsPerChunk: round(streamPolls / delivered, 3),
    upstreamCallsPerChunk: round((streamPolls + statusCalls) / delivered, 3),
    polls: streamPolls,
  };
}

/** Lag percentiles of chunk arrivals against the simulator's production times. */
function lagsOf(reads: readonly ReadOutcome[], stats: SimulatorStats): number[] {
  const lags: number[] = [];
  for (const read of reads) {
    const produced = stats.chunks[read.jobId]?.producedAt ?? [];
    for (const arrival of read.arrivals) {
      const producedAt = produced[arrival.index];
      if (producedAt !== undefined) lags.push(arrival.at - producedAt);
    }
  }
  return lags;
}

/** `viewers` SSE clients on each job at once, through the journaled gateway. */
async function measureViewers(
  pair: Pair,
  options: StreamingOptions['viewers'],
): Promise<StreamViewersResult> {
  const runs: {
    p50: number;
    p99: number;
    max: number;
    pollsPerChunk: number;
    writes: number;
    leaseWrites: number;
  }[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const before = (await statsOf(pair)).requests;
    const ledgerBefore = await ledgerStatsOf(pair);
    const jobId = await submit(pair, {
      stream: options.chunks,
      chunkIntervalMs: options.intervalMs,
      queueMs: QUEUE_MS,
    });
    const reads = await Promise.all(
      Array.from({ length: options.viewers }, () => readSse(pair.gatewayUrl, pair, jobId)),
    );
    for (const read of reads) {
      if (read.arrivals.length !== options.chunks) {
        throw new Error(
          `viewer of ${jobId} got ${read.arrivals.length} of ${options.chunks} chunks`,
        );
      }
    }
    const stats = await statsOf(pair);
    const lags = lagsOf(reads, stats);
    const polls = (stats.requests.stream ?? 0) - (before.stream ?? 0);
    const ledgerAfter = await ledgerStatsOf(pair);
    runs.push({
      p50: percentile(lags, 50),
      p99: percentile(lags, 99),
      max: Math.max(...lags),
      pollsPerChunk: polls / options.chunks,
      ...(() => {
        const writes = writesOf(ledgerBefore, ledgerAfter);
        return { writes: writes.journal / polls, leaseWrites: writes.lease };
      })(),
    });
  }
  const of = (pick: (run: (typeof runs)[number]) => number) => round(median(runs.map(pick)), 3);
  return {
    viewers: options.viewers,
    chunksPerJob: options.chunks,
    chunkIntervalMs: options.intervalMs,
    repetitions: options.repetitions,
    lagMs: { p50: of((run) => run.p50), p99: of((run) => run.p99), max: of((run) => run.max) },
    pollsPerChunk: of((run) => run.pollsPerChunk),
    journalWritesPerPoll: of((run) => run.writes),
    leaseWritesPerJob: of((run) => run.leaseWrites),
  };
}

/** Reads the gateway's SSE stream to its `done` event, timing each `output` event's arrival. */
async function readSse(gatewayUrl: string, pair: Pair, jobId: string): Promise<ReadOutcome> {
  const sentAt = epochNow();
  const response = await fetch(`${gatewayUrl}/v1/runpod/${SURFACE}/stream/${jobId}`, {
    headers: { authorization: `Bearer ${pair.token}`, accept: 'text/event-stream' },
  });
  if (!response.ok || !response.body)
    throw new Error(`SSE open failed: ${response.status} ${await response.text()}`);
  const arrivals: ChunkArrival[] = [];
  let firstByteAt = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const part of response.body) {
    const at = epochNow();
    if (firstByteAt === 0) firstByteAt = at;
    buffer += decoder.decode(part as Uint8Array, { stream: true });
    for (let boundary = buffer.indexOf('\n\n'); boundary >= 0; boundary = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === 'output' && data !== undefined) {
        arrivals.push({ index: (JSON.parse(data) as { index: number }).index, at });
      } else if (event === 'error' || event === 'timeout') {
        throw new Error(`stream ${jobId} ended with ${event}: ${data}`);
      }
    }
  }
  return { jobId, sentAt, firstByteAt, arrivals };
}

/** The floor: long-polls the simulator's `/stream` with the gateway's `wait` until the job ends. */
async function readDirect(pair: Pair, jobId: string): Promise<ReadOutcome> {
  const sentAt = epochNow();
  const arrivals: ChunkArrival[] = [];
  let firstByteAt = 0;
  for (;;) {
    const response = await fetch(
      `${pair.simulatorUrl}/${ENDPOINT_ID}/stream/${jobId}?wait=${POLL_WAIT_MS}`,
      {
        headers: { authorization: `Bearer ${pair.simKey}`, accept: 'application/json' },
      },
    );
    const text = await response.text();
    const at = epochNow();
    if (firstByteAt === 0) firstByteAt = at;
    if (!response.ok) throw new Error(`direct poll failed: ${response.status} ${text}`);
    const poll = JSON.parse(text) as { status: string; stream?: { output: { index: number } }[] };
    for (const item of poll.stream ?? []) arrivals.push({ index: item.output.index, at });
    if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(poll.status)) break;
  }
  return { jobId, sentAt, firstByteAt, arrivals };
}

/** Opens the SSE stream of a job that stays queued, and counts the gateway's polls over the window. */
async function measureIdle(pair: Pair, windowSeconds: number): Promise<StreamingResult['idle']> {
  const jobId = await submit(pair, { stream: 1, queueMs: (windowSeconds + 60) * 1000 });
  const abort = new AbortController();
  const response = await fetch(`${pair.gatewayUrl}/v1/runpod/${SURFACE}/stream/${jobId}`, {
    headers: { authorization: `Bearer ${pair.token}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const reader = response.body?.getReader();
  await reader?.read(); // the `status` event: the relay is running and its first poll is out
  await sleep(100);
  const before = (await statsOf(pair)).requests.stream ?? 0;
  await sleep(windowSeconds * 1000);
  const after = (await statsOf(pair)).requests.stream ?? 0;
  abort.abort();
  await reader?.cancel().catch(() => undefined);
  const streamPolls = after - before;
  return {
    windowSeconds,
    streamPolls,
    pollsPer5s: round((streamPolls * 5) / windowSeconds, 3),
    pollWaitMs: POLL_WAIT_MS,
  };
}

function medianOf(runs: readonly StreamRunMeasure[]): StreamRunMeasure {
  const of = (pick: (run: StreamRunMeasure) => number) => round(median(runs.map(pick)), 3);
  return {
    chunks: of((run) => run.chunks),
    lagMs: {
      p50: of((run) => run.lagMs.p50),
      p99: of((run) => run.lagMs.p99),
      max: of((run) => run.lagMs.max),
    },
    ttfcMs: of((run) => run.ttfcMs),
    ttfbMs: of((run) => run.ttfbMs),
    pollsPerChunk: of((run) => run.pollsPerChunk),
    upstreamCallsPerChunk: of((run) => run.upstreamCallsPerChunk),
    polls: of((run) => run.polls),
  };
}
