import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATIONS, type Operation, routeFor } from '../functions/routes.ts';
import { measureBodies } from './bodies.ts';
import { buildHarness } from './build-harness.ts';
import { measureBundleSizes } from './bundle-size.ts';
import { type ColdRunner, measureColdStarts } from './cold-start.ts';
import { buildCompareFunctions, compareRootOf } from './compare.ts';
import { measureLargeOutput } from './large-output.ts';
import { measureLimiterAccuracy } from './limits.ts';
import { measureLocalE2e } from './local-e2e.ts';
import { measureOpenAiStream } from './openai-stream.ts';
import { OUT_DIR, PROJECT_ROOT } from './processes.ts';
import { profileGateway } from './profile.ts';
import {
  type BenchResults,
  type BenchSections,
  evaluateBudgets,
  machineInfo,
  renderReport,
  writeResults,
} from './report.ts';
import { round } from './stats.ts';
import { measureStreaming } from './streaming.ts';
import { functionsUnderTest, type Synthesis, synthesize } from './synth.ts';
import { measureWarmOverhead } from './warm-overhead.ts';

/**
 * `npm run bench [-- --quick] [--only <section>[,<section>…]] [--ops <operation>,…]
 *   [--compare <repo copy>] [--out <file>] [--fresh-synth]`
 *
 * Sections: bundle, cold, warm, e2e, stream (all by default) and profile (CPU profiles of the
 * gateway's hot paths, only when asked for). `--ops` limits the Lambda sections to some
 * operations; `--compare` measures a modified copy of the repository (a candidate fix) side by
 * side. A full run writes bench/results.json; `--quick` (a ~1-minute smoke run), `--only`,
 * `--ops` and `--compare` write under bench/out/ unless `--out` says otherwise.
 */
const SECTIONS = [
  'bundle',
  'cold',
  'warm',
  'bodies',
  'output',
  'e2e',
  'stream',
  'limits',
  'openai',
  'profile',
] as const;
type Section = (typeof SECTIONS)[number];
/** Every section but the profiles, which are asked for by name. */
const DEFAULT_SECTIONS: readonly Section[] = SECTIONS.filter((section) => section !== 'profile');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
    'fresh-synth': { type: 'boolean', default: false },
    compare: { type: 'string' },
    ops: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'npm run bench -- [--quick] [--only bundle,cold,warm,e2e,stream,profile] [--ops health,run,…] [--compare <repo copy>] [--out <file>] [--fresh-synth]',
  );
  process.exit(0);
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `The bench needs Node 24 (Lambda's nodejs24.x); this is ${process.version}. Run it with npm run bench.`,
  );
  process.exit(1);
}

const requested = (values.only ?? [])
  .flatMap((value) => value.split(','))
  .map((value) => value.trim());
for (const name of requested) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    console.error(`Unknown section "${name}"; sections: ${SECTIONS.join(', ')}`);
    process.exit(1);
  }
}
const sections = (requested.length > 0 ? requested : DEFAULT_SECTIONS) as readonly Section[];
const quick = values.quick;
const operations = (values.ops?.split(',').map((value) => value.trim()) ?? [
  ...OPERATIONS,
]) as Operation[];
for (const operation of operations) {
  if (!(OPERATIONS as readonly string[]).includes(operation)) {
    console.error(`Unknown operation "${operation}"; operations: ${OPERATIONS.join(', ')}`);
    process.exit(1);
  }
}
const compareRoot = values.compare === undefined ? undefined : compareRootOf(values.compare);
const outFile =
  values.out ??
  (requested.length > 0 || values.ops !== undefined || values.compare !== undefined
    ? join(
        OUT_DIR,
        `results-${sections.join('-')}${quick ? '-quick' : ''}${values.compare === undefined ? '' : '-compare'}.json`,
      )
    : quick
      ? join(OUT_DIR, 'results-quick.json')
      : join(PROJECT_ROOT, 'bench', 'results.json'));

const log = (line: string) => console.log(line);
const machine = machineInfo();
const started = performance.now();
log(
  `bench: ${quick ? 'quick' : 'full'} run of ${sections.join(', ')} on Node ${process.version}, ${machine.cpus} CPUs (load ${machine.loadAverage1m})`,
);

let synthesis: Synthesis | undefined;
const needsSynth = sections.some((section) =>
  ['bundle', 'cold', 'warm', 'bodies', 'output', 'profile'].includes(section),
);
if (needsSynth) synthesis = await synthesize({ fresh: values['fresh-synth'], log });
const harness = sections.some((section) => ['cold', 'warm', 'bodies', 'profile'].includes(section))
  ? await buildHarness()
  : undefined;
const functions = synthesis
  ? [
      ...functionsUnderTest(synthesis, operations),
      ...(compareRoot === undefined
        ? []
        : await buildCompareFunctions(compareRoot, synthesis, operations)),
    ]
  : [];

const results: { -readonly [Key in keyof BenchSections]?: BenchSections[Key] } = {};

for (const section of sections) {
  const sectionStart = performance.now();
  log(`\n== ${section}`);
  if (section === 'bundle' && synthesis) {
    results.bundleSize = await measureBundleSizes(synthesis);
  } else if (section === 'cold' && synthesis && harness) {
    const runners: { runner: ColdRunner; rounds: number }[] = quick
      ? [{ runner: 'harness', rounds: 3 }]
      : [
          { runner: 'harness', rounds: 36 },
          { runner: 'ric', rounds: 18 },
        ];
    results.coldStart = await measureColdStarts({
      synthesis,
      functions,
      harness,
      runners,
      log,
    });
  } else if (section === 'warm' && synthesis && harness) {
    results.warmOverhead = await measureWarmOverhead({
      // The warm baseline is the operation's own RunPod call: gateway-wide routes make none.
      functions: functions.filter((candidate) => !routeFor(candidate.operation).gatewayWide),
      harness,
      warmup: quick ? 200 : 500,
      blocks: quick ? 10 : 40,
      blockSize: quick ? 40 : 60,
      // The template's level (as deployed), then ERROR to show what the per-request log line costs.
      logLevels: quick ? [undefined] : [undefined, 'ERROR'],
      log,
    });
  } else if (section === 'bodies' && synthesis && harness) {
    results.bodies = await measureBodies({ synthesis, harness, repetitions: quick ? 1 : 3, log });
  } else if (section === 'output' && synthesis) {
    // RunPod documents outputs up to 20 MB for /run jobs.
    results.largeOutput = await measureLargeOutput({
      synthesis,
      outputBytes: 20_000_000,
      repetitions: quick ? 1 : 3,
      log,
    });
  } else if (section === 'e2e') {
    results.localE2e = await measureLocalE2e({
      // Many short paired runs rather than a few long ones: neighbours on a shared machine move
      // single runs by ±25%, and runs close in time share more of that drift.
      durationSeconds: 2,
      warmupSeconds: quick ? 0.5 : 1,
      repetitions: quick ? 1 : 9,
      connections: [1, 64],
      embedded: !quick,
      logComparison: !quick,
      ...(compareRoot === undefined ? {} : { compareRoot }),
      log,
    });
  } else if (section === 'openai') {
    results.openAiStream = await measureOpenAiStream({
      tokens: 40,
      intervalMs: 20,
      firstTokenDelayMs: 30,
      repetitions: quick ? 6 : 30,
      log,
    });
  } else if (section === 'limits') {
    // Far past the key's rate from every process at once: 3 processes × 16 connections of
    // health, which answers in about a millisecond, against 50 a second.
    results.limiter = await measureLimiterAccuracy({
      processes: 3,
      connectionsPerProcess: 16,
      perSecond: 50,
      burst: 50,
      durationSeconds: quick ? 2 : 4,
      repetitions: quick ? 1 : 3,
      log,
    });
  } else if (section === 'stream') {
    results.streaming = await measureStreaming({
      scenarios: quick
        ? [
            { streams: 1, chunks: 50, intervalMs: 20, repetitions: 1 },
            { streams: 8, chunks: 50, intervalMs: 20, repetitions: 1 },
          ]
        : [
            { streams: 1, chunks: 100, intervalMs: 20, repetitions: 3 },
            { streams: 16, chunks: 100, intervalMs: 20, repetitions: 2 },
          ],
      viewers: { viewers: 3, chunks: 50, intervalMs: 50, repetitions: quick ? 1 : 3 },
      idleWindowSeconds: quick ? 11 : 30,
      log,
    });
  } else if (section === 'profile' && synthesis && harness) {
    await profileGateway({ synthesis, harness, log });
  }
  log(`   (${section}: ${((performance.now() - sectionStart) / 1000).toFixed(1)} s)`);
}

const budgets = evaluateBudgets(results);
const report: BenchResults = {
  machine: { ...machine, loadAverage1mAtEnd: round(loadavg()[0] ?? Number.NaN, 2) },
  run: {
    mode: quick ? 'quick' : 'full',
    sections,
    durationSeconds: round((performance.now() - started) / 1000, 1),
    synthSeconds: synthesis?.synthMs === undefined ? undefined : round(synthesis.synthMs / 1000, 1),
  },
  ...results,
  budgets,
};
if (!(sections.length === 1 && sections[0] === 'profile')) {
  log(`\n${renderReport(report)}\n`);
  await writeResults(outFile, report);
  log(`results written to ${outFile}`);
}
const failed = budgets.filter((check) => !check.pass);
if (failed.length > 0)
  log(`${failed.length} budget(s) missed: ${failed.map((check) => check.id).join(', ')}`);
