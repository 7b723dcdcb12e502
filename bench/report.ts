import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { OPERATIONS, type Operation, routeFor } from '../functions/routes.ts';
import type { BodiesResult } from './bodies.ts';
import type { BundleSizeResult } from './bundle-size.ts';
import type { ColdRunner, ColdStartResult, ColdVariant } from './cold-start.ts';
import { COMPARE_SUFFIX } from './compare.ts';
import type { LargeOutputResult } from './large-output.ts';
import type { LimiterAccuracyResult } from './limits.ts';
import { type E2eTarget, isComparedWithProxy, type LocalE2eResult } from './local-e2e.ts';
import type { OpenAiStreamResult } from './openai-stream.ts';
import { PROJECT_ROOT } from './processes.ts';
import { round } from './stats.ts';
import type { StreamingResult } from './streaming.ts';
import {
  IDEMPOTENT_RUN_LABEL,
  JOURNALED_STREAM_LABEL,
  RATE_LIMITED_LABEL,
  type WarmOverheadResult,
} from './warm-overhead.ts';

/** The budgets of the performance issue, checked against each run. */
export const BUDGETS = {
  bundleBytes: 150_000,
  coldStartAddedMs: 15,
  warmAddedUsP50: 150,
  e2eThroughputRatioC64: 0.8,
  e2eAddedP50MsC1: 0.15,
  streamLagP50Ms: 50,
  streamLagP99Ms: 250,
  streamPollsPerChunk: 1.1,
  streamIdlePollsPer5s: 1,
  streamNoHoldPollsPerSecond: 5,
  /** Stream journal page writes per upstream poll (relay lease writes are reported per stream). */
  streamJournalWritesPerPoll: 1,
  /** Upstream polls per chunk of a job that several SSE viewers watch at once. */
  streamViewerPollsPerChunk: 1.1,
  /** The worst-shaped body may cost at most this many times a plain body of the same size. */
  bodyCpuRatio: 10,
  /** …and its peak RSS must stay under this share of the function's memory. */
  bodyRssShareOfMemory: 0.8,
  /** A key's rate over several processes: never more than the limit allows… */
  limiterOverAdmitted: 0,
  /** …and at least this share of it (the median run). */
  limiterAdmittedShare: 0.8,
  /** A streamed chat completion: time to first token added over the worker's own. */
  openAiAddedTtftP50Ms: 5,
  /** …and the gaps between tokens, added at p99. */
  openAiAddedGapP99Ms: 2,
} as const;

export interface MachineInfo {
  /** The commit measured, and whether functions/, local/, infra/ or config/ had uncommitted changes. */
  readonly git: { readonly commit: string; readonly dirty: boolean };
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  /** 1-minute load average when the run started: how busy the shared machine was. */
  readonly loadAverage1m: number;
  /** The same when it ended. */
  readonly loadAverage1mAtEnd?: number;
  readonly date: string;
}

export interface BenchResults {
  readonly machine: MachineInfo;
  readonly run: {
    readonly mode: 'full' | 'quick';
    readonly sections: readonly string[];
    readonly durationSeconds: number;
    readonly synthSeconds: number | undefined;
  };
  readonly budgets: readonly BudgetCheck[];
  readonly bundleSize?: BundleSizeResult;
  readonly coldStart?: ColdStartResult;
  readonly warmOverhead?: WarmOverheadResult;
  readonly bodies?: BodiesResult;
  readonly largeOutput?: LargeOutputResult;
  readonly localE2e?: LocalE2eResult;
  readonly streaming?: StreamingResult;
  readonly limiter?: LimiterAccuracyResult;
  readonly openAiStream?: OpenAiStreamResult;
}

export interface BudgetCheck {
  readonly id: string;
  readonly budget: string;
  readonly measured: string;
  readonly pass: boolean;
}

function gitInfo(): MachineInfo['git'] {
  const run = (args: string[]) =>
    execFileSync('git', args, {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    return {
      commit: run(['rev-parse', '--short=12', 'HEAD']),
      dirty: run(['status', '--porcelain', '--', 'functions', 'local', 'infra', 'config']) !== '',
    };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

export function machineInfo(): MachineInfo {
  const processors = cpus();
  return {
    git: gitInfo(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cpus: processors.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    loadAverage1m: round(loadavg()[0] ?? Number.NaN, 2),
    date: new Date().toISOString(),
  };
}

/** What the sections measured (each present when it ran). */
export type BenchSections = Omit<BenchResults, 'machine' | 'run' | 'budgets'>;

export function evaluateBudgets(results: BenchSections): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  const add = (id: string, budget: string, measured: string, pass: boolean) => {
    checks.push({ id, budget, measured, pass });
  };
  if (results.bundleSize) {
    const largest = [...results.bundleSize.rows].sort((a, b) => b.bytes - a.bytes)[0];
    if (largest) {
      add(
        'bundle.size',
        `≤ ${BUDGETS.bundleBytes / 1000} KB per function, AWS SDK excluded`,
        `largest ${kb(largest.bytes)} (${largest.operation}); SDK ${results.bundleSize.rows.every((row) => row.awsSdkExternal) ? 'external in every bundle' : 'BUNDLED in some'}`,
        results.bundleSize.rows.every((row) => row.bytes <= BUDGETS.bundleBytes),
      );
    }
  }
  for (const [runner, result] of Object.entries(results.coldStart?.runners ?? {})) {
    const rows = Object.entries(result.operations).filter(([label]) => isOperation(label));
    const worst = rows.sort((a, b) => b[1].addedMsP50 - a[1].addedMsP50)[0];
    if (!worst) continue;
    add(
      `coldStart.${runner}`,
      `≤ floor + ${BUDGETS.coldStartAddedMs} ms (median, ${runnerName(runner as ColdRunner)})`,
      `worst ${signed(worst[1].addedMsP50, 2)} ms (${worst[0]}); floor ${result.baseline.totalMs.p50} ms`,
      rows.every(([, row]) => row.addedMsP50 <= BUDGETS.coldStartAddedMs),
    );
  }
  const deployed = results.warmOverhead?.variants[0];
  if (deployed) {
    const rows = Object.entries(deployed.operations).filter(([label]) => isOperation(label));
    const worst = [...rows].sort((a, b) => b[1].addedUsP50 - a[1].addedUsP50)[0];
    if (worst) {
      add(
        'warm.addedP50',
        `≤ ${BUDGETS.warmAddedUsP50} µs added at p50 (log level ${deployed.logLevel})`,
        `worst ${signed(worst[1].addedUsP50)} µs (${worst[0]})`,
        rows.every(([, row]) => row.addedUsP50 <= BUDGETS.warmAddedUsP50),
      );
    }
    const limited = deployed.operations[RATE_LIMITED_LABEL];
    if (limited) {
      add(
        'warm.rateLimit',
        `a key's request rate adds ≤ ${BUDGETS.warmAddedUsP50} µs at p50 beyond its one counter update (health, whose only DynamoDB call it is, against the floor's one read)`,
        `${signed(limited.addedUsP50)} µs`,
        limited.addedUsP50 <= BUDGETS.warmAddedUsP50,
      );
    }
    const counted = Object.entries(deployed.operations).filter(
      ([label]) => expectedLedgerCalls(label) !== undefined,
    );
    const wrong = counted.filter(
      ([label, row]) =>
        JSON.stringify(sortedCalls(row.ledgerCallsPerRequest)) !==
        JSON.stringify(sortedCalls(expectedLedgerCalls(label) ?? {})),
    );
    if (counted.length > 0) {
      add(
        'ledger.callsPerRequest',
        "ledger calls per request: 1 read per follow-up, 1 conditional write per submission (+ 1 put and 1 update of the idempotency record with Idempotency-Key; + the page and the journal's close for a journaled stream poll that drained a finished job; + 1 counter update for a key with a request rate; + 1 token counter update per OpenAI-compatible answer), none elsewhere",
        wrong.length === 0
          ? `as budgeted for all ${counted.length} (counted by the instant DynamoDB)`
          : wrong
              .map(([label, row]) => `${label}: ${JSON.stringify(row.ledgerCallsPerRequest)}`)
              .join('; '),
        wrong.length === 0,
      );
    }
  }
  if (results.bodies) {
    const { plain, manyKeys, memoryMb } = results.bodies;
    const ratio = round(manyKeys.cpuMs / Math.max(plain.cpuMs, 0.1), 2);
    add(
      'bodies.cpu',
      `worst-shaped 5 MiB body ≤ ${BUDGETS.bodyCpuRatio}× a plain one's CPU (run)`,
      `${manyKeys.keys} keys: ${manyKeys.cpuMs} ms vs plain ${plain.cpuMs} ms (${ratio}×)`,
      ratio <= BUDGETS.bodyCpuRatio,
    );
    const worstRss = Math.max(plain.peakRssMb, manyKeys.peakRssMb);
    add(
      'bodies.rss',
      `peak RSS of either 5 MiB body ≤ ${BUDGETS.bodyRssShareOfMemory * 100} % of the function's ${memoryMb} MB`,
      `plain ${plain.peakRssMb} MB, ${manyKeys.keys} keys ${manyKeys.peakRssMb} MB`,
      worstRss <= memoryMb * BUDGETS.bodyRssShareOfMemory,
    );
  }
  if (results.largeOutput) {
    const { small, large, memoryMb, outputBytes } = results.largeOutput;
    add(
      'output.rss',
      `peak RSS passing a ${(outputBytes / 1e6).toFixed(0)} MB output through status (aws-lambda-ric) ≤ ${BUDGETS.bodyRssShareOfMemory * 100} % of the function's ${memoryMb} MB`,
      `${large.peakRssMb} MB (a small output: ${small.peakRssMb} MB; ${large.responseBytes} bytes streamed back)`,
      large.peakRssMb <= memoryMb * BUDGETS.bodyRssShareOfMemory &&
        large.responseBytes >= outputBytes,
    );
  }
  const separate = results.localE2e?.setups.separate;
  for (const row of separate?.concurrency ?? []) {
    if (row.connections >= 64) {
      add(
        `e2e.throughput.c${row.connections}`,
        `≥ ${BUDGETS.e2eThroughputRatioC64}× minimal proxy req/s at c=${row.connections}`,
        `${row.gatewayToProxyThroughput}× (${row.targets.gateway?.perSecond} vs ${row.targets.proxy?.perSecond} req/s; CPU/request ratio ${row.gatewayToProxyCpu}×)`,
        row.gatewayToProxyThroughput >= BUDGETS.e2eThroughputRatioC64,
      );
    }
    if (row.connections === 1) {
      add(
        'e2e.addedP50.c1',
        `≤ ${BUDGETS.e2eAddedP50MsC1} ms added p50 over minimal proxy at c=1`,
        `${signed(row.gatewayAddedP50Ms, 3)} ms (${row.targets.gateway?.p50Ms} vs ${row.targets.proxy?.p50Ms} ms)`,
        row.gatewayAddedP50Ms <= BUDGETS.e2eAddedP50MsC1,
      );
    }
  }
  for (const scenario of results.streaming?.scenarios ?? []) {
    const name = `${scenario.streams}×${scenario.chunksPerStream}@${scenario.chunkIntervalMs}ms`;
    add(
      `stream.lag.${name}`,
      `chunk lag p50 ≤ ${BUDGETS.streamLagP50Ms} ms, p99 ≤ ${BUDGETS.streamLagP99Ms} ms (${name})`,
      `p50 ${scenario.gateway.lagMs.p50} ms, p99 ${scenario.gateway.lagMs.p99} ms`,
      scenario.gateway.lagMs.p50 <= BUDGETS.streamLagP50Ms &&
        scenario.gateway.lagMs.p99 <= BUDGETS.streamLagP99Ms,
    );
    add(
      `stream.polls.${name}`,
      `≤ ${BUDGETS.streamPollsPerChunk} upstream polls per chunk while flowing (${name})`,
      `${scenario.gateway.pollsPerChunk} /stream polls per chunk`,
      scenario.gateway.pollsPerChunk <= BUDGETS.streamPollsPerChunk,
    );
    if (scenario.journalWritesPerPoll !== undefined) {
      add(
        `stream.journalWrites.${name}`,
        `≤ ${BUDGETS.streamJournalWritesPerPoll} journal write per upstream poll (${name})`,
        `${scenario.journalWritesPerPoll} page writes per poll (+ ${scenario.leaseWritesPerStream} lease writes per stream); journaling adds ${signed(scenario.journalAddedLagP50Ms, 2)} ms to lag p50 over the journal off (p50 ${scenario.unjournaled.lagMs.p50}, p99 ${scenario.unjournaled.lagMs.p99} ms)`,
        scenario.journalWritesPerPoll <= BUDGETS.streamJournalWritesPerPoll,
      );
    }
  }
  if (results.openAiStream) {
    const stream = results.openAiStream;
    add(
      'openai.ttft',
      `streamed chat completion: time to first token added ≤ ${BUDGETS.openAiAddedTtftP50Ms} ms p50 over the worker directly (${stream.tokens} tokens @ ${stream.intervalMs} ms, ${stream.repetitions} runs each)`,
      `${signed(stream.addedTtftP50Ms, 2)} ms (${stream.gateway.ttftMs.p50} vs ${stream.direct.ttftMs.p50} ms)`,
      stream.addedTtftP50Ms <= BUDGETS.openAiAddedTtftP50Ms,
    );
    add(
      'openai.gaps',
      `gaps between streamed tokens preserved: added p99 ≤ ${BUDGETS.openAiAddedGapP99Ms} ms; the first token reaches the client before the worker's last (no buffering)`,
      `${signed(stream.addedGapP99Ms, 2)} ms (p99 ${stream.gateway.gapMs.p99} vs ${stream.direct.gapMs.p99} ms; median first-to-last ${stream.gateway.spanMs} vs ${stream.direct.spanMs} ms)`,
      stream.addedGapP99Ms <= BUDGETS.openAiAddedGapP99Ms && stream.firstBeforeLast,
    );
  }
  if (results.limiter) {
    const { processes, perSecond, burst, runs, worstOverAdmitted, medianAdmittedShare } =
      results.limiter;
    add(
      'limits.accuracy',
      `a key's rate (${perSecond}/s, burst ${burst}) enforced by ${processes} processes on one table: admitted ≤ burst + rate × wall time, and ≥ ${BUDGETS.limiterAdmittedShare * 100} % of it (median run)`,
      `worst ${signed(worstOverAdmitted, 0)} over the allowance; median ${round(medianAdmittedShare * 100, 1)} % of it admitted (${runs.map((run) => `${run.admitted}/${run.allowed}`).join(', ')}; ${sumOf(runs.map((run) => run.refused))} refused)`,
      worstOverAdmitted <= BUDGETS.limiterOverAdmitted &&
        medianAdmittedShare >= BUDGETS.limiterAdmittedShare,
    );
  }
  const viewers = results.streaming?.viewers;
  if (viewers) {
    const name = `${viewers.viewers} viewers × ${viewers.chunksPerJob}@${viewers.chunkIntervalMs}ms`;
    add(
      'stream.viewers',
      `≤ ${BUDGETS.streamViewerPollsPerChunk} upstream polls per chunk, ≤ ${BUDGETS.streamJournalWritesPerPoll} journal write per poll (${name})`,
      `${viewers.pollsPerChunk} polls per chunk, ${viewers.journalWritesPerPoll} page writes per poll (+ ${viewers.leaseWritesPerJob} lease writes per job); lag p50 ${viewers.lagMs.p50} ms, p99 ${viewers.lagMs.p99} ms over all viewers`,
      viewers.pollsPerChunk <= BUDGETS.streamViewerPollsPerChunk &&
        viewers.journalWritesPerPoll <= BUDGETS.streamJournalWritesPerPoll,
    );
  }
  if (results.streaming) {
    const idle = results.streaming.idle;
    add(
      'stream.idlePolls',
      `≤ ${BUDGETS.streamIdlePollsPer5s} poll per 5 s while idle`,
      `${idle.pollsPer5s} per 5 s (${idle.streamPolls} in ${idle.windowSeconds} s)`,
      idle.pollsPer5s <= BUDGETS.streamIdlePollsPer5s,
    );
    const noHold = results.streaming.noHold;
    if (noHold) {
      add(
        'stream.noHoldPolls',
        `≤ ${BUDGETS.streamNoHoldPollsPerSecond} upstream /stream calls per second for one client when the upstream ignores wait`,
        `${noHold.pollsPerSecond} per s (${noHold.streamPolls} in ${noHold.windowSeconds} s)`,
        noHold.pollsPerSecond <= BUDGETS.streamNoHoldPollsPerSecond,
      );
    }
  }
  return checks;
}

function sumOf(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function isOperation(label: string): label is Operation {
  return (OPERATIONS as readonly string[]).includes(label);
}

/** PASS/FAIL for the product's own functions; a compared copy is shown, not judged; a reference row neither. */
function verdict(label: string, pass: boolean): string {
  if (label.endsWith(COMPARE_SUFFIX)) return pass ? '(within)' : '(over)';
  if (!isOperation(label)) return 'reference';
  return pass ? 'PASS' : 'FAIL';
}

function runnerName(runner: ColdRunner): string {
  return runner === 'ric' ? 'aws-lambda-ric' : 'import harness';
}

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const n = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
const signed = (value: number, digits = 1) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** The report as Markdown tables (printed, and pasted into docs/performance.md). */
export function renderReport(results: BenchResults): string {
  const parts: string[] = [];
  const { machine, run } = results;
  parts.push(
    `Commit ${machine.git.commit}${machine.git.dirty ? ' (with uncommitted changes)' : ''} · Node ${machine.node} · ${machine.cpus} × ${machine.cpuModel} · ${machine.memoryGiB} GiB · load ${machine.loadAverage1m} at start, ${machine.loadAverage1mAtEnd ?? '?'} at end · ${machine.date} · ${run.mode} run, ${run.durationSeconds} s`,
  );

  if (results.bundleSize) {
    parts.push(
      '### Bundle size (cdk synth output, minified ESM)',
      table(
        ['function', 'index.mjs', 'gzip', '@aws-sdk', 'if SDK bundled', 'largest inputs'],
        results.bundleSize.rows.map((row) => [
          row.operation,
          kb(row.bytes),
          kb(row.gzipBytes),
          !row.awsSdkExternal
            ? 'bundled'
            : row.externalImports.length === 0
              ? 'not used'
              : `external (${row.externalImports.join(', ')})`,
          kb(row.bytesWithAwsSdk),
          row.topInputs
            .slice(0, 4)
            .map((input) => `${input.name} ${kb(input.bytes)}`)
            .join(', '),
        ]),
      ),
    );
  }

  for (const [runner, result] of Object.entries(results.coldStart?.runners ?? {})) {
    const isRic = runner === 'ric';
    const cells = (row: ColdVariant) => [
      n(row.totalMs.p50),
      n(row.totalMs.p90),
      n(row.bootMsP50),
      ...(isRic ? [] : [n(row.initMsP50)]),
      n(row.invokeMsP50),
      `${n(row.timelineP50.loadedToFirstSecret)} / ${n(row.timelineP50.secretCalls, 0)} × ${n(row.timelineP50.firstToLastSecret)} / ${n(row.timelineP50.lastSecretToUpstream)} / ${n(row.timelineP50.upstreamToResponse)}`,
    ];
    parts.push(
      `### Cold start, ${runnerName(runner as ColdRunner)} (spawn → first response; ${result.rounds} rounds; ms)`,
      table(
        [
          'function',
          'p50',
          'p90',
          isRic ? 'spawn→1st poll' : 'node boot',
          ...(isRic ? [] : ['module load']),
          'first invoke',
          '→1st secret / calls × 1st→last / →upstream / →response',
          'added p50',
          'budget',
        ],
        [
          [
            'baseline (SM + DynamoDB clients, 1 secret, 1 item, 1 fetch)',
            ...cells(result.baseline),
            '—',
            '',
          ],
          ...Object.entries(result.operations).map(([label, row]) => [
            label,
            ...cells(row),
            signed(row.addedMsP50),
            verdict(label, row.addedMsP50 <= BUDGETS.coldStartAddedMs),
          ]),
        ],
      ),
    );
  }

  for (const variant of results.warmOverhead?.variants ?? []) {
    parts.push(
      `### Warm overhead, log level ${variant.logLevel} (${variant.invocationsPerVariant} invocations each; µs per invocation)`,
      table(
        [
          'function',
          'baseline p50',
          'ours p50',
          'added p50',
          'baseline p99',
          'ours p99',
          'baseline inv/s',
          'ours inv/s',
          'ledger calls / request',
          'budget',
        ],
        Object.entries(variant.operations).map(([label, row]) => [
          label,
          n(row.baselineUs.p50),
          n(row.gatewayUs.p50),
          signed(row.addedUsP50),
          n(row.baselineUs.p99),
          n(row.gatewayUs.p99),
          String(row.baselinePerSecond),
          String(row.gatewayPerSecond),
          callsText(row.ledgerCallsPerRequest),
          verdict(label, row.addedUsP50 <= BUDGETS.warmAddedUsP50),
        ]),
      ),
    );
  }

  for (const [setup, result] of Object.entries(results.localE2e?.setups ?? {})) {
    const rows: string[][] = [];
    for (const row of result.concurrency) {
      for (const [target, measure] of Object.entries(row.targets)) {
        const name = target as E2eTarget;
        const compared = isComparedWithProxy(name);
        rows.push([
          String(row.connections),
          target,
          String(measure.perSecond),
          n(measure.p50Ms, 3),
          n(measure.p99Ms, 3),
          n(measure.cpuUsPerRequest, 0),
          compared ? `${n(row.throughputOverProxy[name], 2)}× proxy` : '',
          compared ? `${signed(row.addedP50MsOverProxy[name] ?? Number.NaN, 3)} ms` : '',
        ]);
      }
    }
    parts.push(
      `### Local end-to-end, ${setup === 'separate' ? 'simulator in its own process (budgeted)' : "npm start's embedded simulator (informational)"} — ${results.localE2e?.durationSeconds} s × ${results.localE2e?.repetitions} runs, medians`,
      table(
        [
          'conns',
          'target',
          'req/s',
          'p50 ms',
          'p99 ms',
          'CPU µs/req',
          'req/s vs proxy (paired)',
          'added p50 vs proxy',
        ],
        rows,
      ),
    );
  }

  if (results.streaming) {
    parts.push(
      '### Streaming (SSE through the gateway vs direct long-poll of the simulator; ms)',
      table(
        [
          'scenario',
          'path',
          'lag p50',
          'lag p99',
          'lag max',
          'first byte',
          'first chunk',
          '/stream polls per chunk',
          'upstream calls per chunk',
        ],
        results.streaming.scenarios.flatMap((scenario) =>
          (['gateway', 'unjournaled', 'direct'] as const).flatMap((path) => {
            const measure = scenario[path];
            if (measure === undefined) return [];
            return [
              [
                `${scenario.streams} stream(s) × ${scenario.chunksPerStream} chunks @ ${scenario.chunkIntervalMs} ms`,
                path === 'unjournaled' ? 'gateway, journal off' : path,
                n(measure.lagMs.p50, 2),
                n(measure.lagMs.p99, 2),
                n(measure.lagMs.max, 2),
                n(measure.ttfbMs, 1),
                n(measure.ttfcMs, 1),
                n(measure.pollsPerChunk, 3),
                n(measure.upstreamCallsPerChunk, 3),
              ],
            ];
          }),
        ),
      ),
      `Idle job: ${results.streaming.idle.streamPolls} upstream polls in ${results.streaming.idle.windowSeconds} s = ${results.streaming.idle.pollsPer5s} per 5 s (long-poll wait ${results.streaming.idle.pollWaitMs} ms).`,
      ...(results.streaming.viewers
        ? [
            `${results.streaming.viewers.viewers} SSE viewers of each job (${results.streaming.viewers.chunksPerJob} chunks @ ${results.streaming.viewers.chunkIntervalMs} ms, median of ${results.streaming.viewers.repetitions}): lag p50 ${results.streaming.viewers.lagMs.p50} ms, p99 ${results.streaming.viewers.lagMs.p99} ms, max ${results.streaming.viewers.lagMs.max} ms over every viewer's chunks; ${results.streaming.viewers.pollsPerChunk} upstream polls per chunk of the job; ${results.streaming.viewers.journalWritesPerPoll} journal page writes per poll and ${results.streaming.viewers.leaseWritesPerJob} lease writes per job.`,
          ]
        : []),
    );
  }

  if (results.limiter) {
    const limiter = results.limiter;
    parts.push(
      `### Per-key rate across processes (${limiter.processes} gateway processes × ${limiter.connectionsPerProcess} connections of health, one key at ${limiter.perSecond}/s with a burst of ${limiter.burst}, one ledger engine)`,
      table(
        ['run', 'wall s', 'admitted', 'allowed (burst + rate × s)', 'refused (429)', 'errors'],
        limiter.runs.map((run, index) => [
          String(index + 1),
          n(run.wallSeconds, 2),
          String(run.admitted),
          String(run.allowed),
          String(run.refused),
          String(run.errors),
        ]),
      ),
    );
  }

  parts.push(
    '### Budgets',
    table(
      ['budget', 'measured', 'result'],
      results.budgets.map((check) => [check.budget, check.measured, check.pass ? 'PASS' : 'FAIL']),
    ),
  );
  return parts.join('\n\n');
}

/** Writes the results with keys sorted at every level, so two runs diff line by line. */
export async function writeResults(path: string, results: BenchResults): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(sortKeys(results), null, 2)}\n`);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => [key, sortKeys(item)]),
  );
}

/**
 * The ledger calls each operation is budgeted (per request, steady state: the job's outcome
 * already recorded); undefined for labels that are not budgeted (compared copies).
 */
function expectedLedgerCalls(label: string): Readonly<Record<string, number>> | undefined {
  if (label === IDEMPOTENT_RUN_LABEL) return { PutItem: 2, UpdateItem: 1 };
  // The poll's page, and the journal closed for good since the poll showed the job's end.
  if (label === JOURNALED_STREAM_LABEL) return { GetItem: 1, PutItem: 2 };
  // One conditional update of the key's counter per request.
  if (label === RATE_LIMITED_LABEL) return { UpdateItem: 1 };
  if (!isOperation(label)) return undefined;
  // One conditional-free `ADD` to the key's token counter per answer that reports tokens.
  if (routeFor(label).openAi) return label === 'openai-models' ? {} : { UpdateItem: 1 };
  const use = routeFor(label).ledger;
  return use === 'lookup' ? { GetItem: 1 } : use === 'record' ? { PutItem: 1 } : {};
}

function sortedCalls(calls: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(calls).sort(([a], [b]) => a.localeCompare(b));
}

function callsText(calls: Readonly<Record<string, number>> | undefined): string {
  const entries = sortedCalls(calls ?? {});
  return entries.length === 0 ? '—' : entries.map(([call, count]) => `${count} ${call}`).join(', ');
}
