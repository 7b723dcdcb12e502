import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { handlerFileOf, type Operation } from '../functions/routes.ts';
import type { BuiltHarness } from './build-harness.ts';
import { ENDPOINT_ID, eventOf, localBenchKeys, upstreamRequestOf } from './events.ts';
import { startBenchServices } from './instant-services.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import {
  gatewayEnvOf,
  READY,
  startLoadGeneratorProcess,
  startSimulatorProcess,
} from './local-servers.ts';
import {
  baseEnv,
  ipcRequest,
  logFileOf,
  NODE,
  OUT_DIR,
  PROJECT_ROOT,
  type ServerProcess,
  startServerProcess,
  tsxArgs,
} from './processes.ts';
import type { LoadReport } from './servers/load-generator.ts';
import type { Synthesis } from './synth.ts';

/**
 * `--only profile`: CPU profiles (`node --cpu-prof`) where the budgets are tight, each sample
 * charged to the first frame up its stack that belongs to a package or a project file (so fetch
 * internals called by `functions/runpod/client.ts` count for the client), per request or
 * invocation. The Lambda profiles run an unminified build of the same entry (same esbuild options
 * otherwise), mapped back to modules through esbuild's `// path` markers:
 * - cold start of the health function and of the baseline (whole processes);
 * - warm invocations of the health function (its baseline blocks in the same process);
 * - `local/main.ts` and the minimal proxy under autocannon at 64 connections.
 * The sampling profiler slows the code down: compare shares, not absolute times.
 * Profiles land in bench/out/profiles/ (Chrome DevTools → Performance, or speedscope).
 */
const PROFILE_DIR = join(OUT_DIR, 'profiles');
const INTERVAL_US = '100';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Line → module of an unminified esbuild bundle (its `// path` comments). */
type ModuleMap = readonly { readonly line: number; readonly module: string }[];

async function moduleMapOf(bundle: string): Promise<ModuleMap> {
  const map: { line: number; module: string }[] = [];
  (await readFile(bundle, 'utf8')).split('\n').forEach((text, index) => {
    const match = /^\/\/ (node_modules\/(?:@[^/]+\/)?[^/]+|functions\/\S+|bench\/\S+)/.exec(text);
    if (match)
      map.push({ line: index, module: (match[1] as string).replace(/^node_modules\//, '') });
  });
  return map;
}

/** The package or project file a frame belongs to; undefined for Node's own code and tsx. */
function ownerOf(
  url: string,
  line: number,
  bundles: ReadonlyMap<string, ModuleMap>,
): string | undefined {
  for (const [bundle, map] of bundles) {
    if (!url.endsWith(bundle)) continue;
    let found = 'bundle';
    for (const entry of map) {
      if (entry.line > line) break;
      found = entry.module;
    }
    return found;
  }
  const nodeModule = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nodeModule) return nodeModule[1] === 'tsx' ? undefined : nodeModule[1];
  const project = url.replace(`file://${PROJECT_ROOT}/`, '');
  return project !== url && !project.startsWith('bench/out/harness') ? project : undefined;
}

function nodeCategoryOf(functionName: string, url: string): string {
  if (functionName.startsWith('(')) return functionName;
  if (url === '') return `native: ${functionName || 'anonymous'}`;
  if (url.includes('undici')) return 'node: fetch (undici)';
  if (url.includes('harness')) return 'bench harness';
  return `node: ${url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
}

/**
 * Each sample charged to the first package or project frame up its stack (else to Node's own
 * code by area), in µs per unit of work when `units` is given (requests, invocations), else ms.
 */
export async function summarizeProfile(
  file: string,
  options: {
    bundles?: ReadonlyMap<string, ModuleMap>;
    units?: number;
    unitName?: string;
    top?: number;
  } = {},
): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const bundles = options.bundles ?? new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const owners = new Map<string, number>();
  const leaves = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((sample, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    totalMs += ms;
    const leaf = byId.get(sample)?.callFrame;
    if (!leaf) return;
    let owner: string | undefined;
    for (
      let id: number | undefined = sample;
      id !== undefined && owner === undefined;
      id = parentOf.get(id)
    ) {
      const frame = byId.get(id)?.callFrame;
      if (frame) owner = ownerOf(frame.url, frame.lineNumber, bundles);
    }
    const key = owner ?? nodeCategoryOf(leaf.functionName, leaf.url);
    owners.set(key, (owners.get(key) ?? 0) + ms);
    const leafName = `${leaf.functionName || '(anonymous)'} (${ownerOf(leaf.url, leaf.lineNumber, bundles) ?? nodeCategoryOf(leaf.functionName, leaf.url)}) ⇐ ${key}`;
    leaves.set(leafName, (leaves.get(leafName) ?? 0) + ms);
  });
  const units = options.units;
  const unitName = options.unitName ?? 'unit';
  const show = (ms: number) =>
    units
      ? `${((ms * 1000) / units).toFixed(1).padStart(7)} µs/${unitName}`
      : `${ms.toFixed(1).padStart(8)} ms`;
  const list = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, options.top ?? 15)
      .map(
        ([name, ms]) =>
          `    ${show(ms)}  ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${name}`,
      )
      .join('\n');
  const header = units
    ? `${totalMs.toFixed(0)} ms sampled over ${units} ${unitName}s = ${((totalMs * 1000) / units).toFixed(1)} µs/${unitName}`
    : `${totalMs.toFixed(1)} ms sampled`;
  return `  ${file.replace(`${PROJECT_ROOT}/`, '')}: ${header}\n  by owner (first package/project frame on the stack):\n${list(owners)}\n  by leaf function:\n${list(leaves)}`;
}

async function unminifiedBundle(operation: Operation, assetDir: string): Promise<string> {
  const dir = join(PROFILE_DIR, `bundle-${operation}`);
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [join(PROJECT_ROOT, 'functions', 'operations', handlerFileOf(operation))],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: false,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
    absWorkingDir: PROJECT_ROOT,
  });
  await copyFile(join(assetDir, 'routing.json'), join(dir, 'routing.json'));
  return dir;
}

async function newestProfile(dir: string): Promise<string> {
  const last = (await readdir(dir))
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .at(-1);
  if (!last) throw new Error(`no profile in ${dir}`);
  return join(dir, last);
}

function profilerArgs(dir: string): string[] {
  return ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', INTERVAL_US];
}

function runProfiled(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  dir: string,
  name: string,
): Promise<void> {
  const log = openSync(logFileOf(`profile-${name}`), 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...profilerArgs(dir), script], {
      cwd,
      env,
      stdio: ['ignore', log, log, 'pipe'],
    });
    closeSync(log);
    child.stdio[3]?.on('data', () => undefined);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}`)),
    );
  });
}

export async function profileGateway(options: {
  readonly synthesis: Synthesis;
  readonly harness: BuiltHarness;
  readonly log: (line: string) => void;
}): Promise<void> {
  await rm(PROFILE_DIR, { recursive: true, force: true });
  await mkdir(PROFILE_DIR, { recursive: true });
  const { log } = options;
  const services = await startBenchServices();
  const { upstream, secretsManager, token } = services;
  const health = options.synthesis.functions.health;
  const bundleDir = await unminifiedBundle('health', health.assetDir);
  // `run` too: a submitting function loads the DynamoDB SDK and the ledger's code at cold start.
  const run = options.synthesis.functions.run;
  const runBundleDir = await unminifiedBundle('run', run.assetDir);
  const bundles = new Map([
    [join(bundleDir, 'index.mjs'), await moduleMapOf(join(bundleDir, 'index.mjs'))],
    [join(runBundleDir, 'index.mjs'), await moduleMapOf(join(runBundleDir, 'index.mjs'))],
  ]);
  const envOf = (operation: 'health' | 'run', taskRoot: string, extra: Record<string, string>) => {
    const fn = options.synthesis.functions[operation];
    return {
      ...lambdaEnvironment({
        functionName: `bench-${operation}`,
        taskRoot,
        memorySize: fn.memorySize,
        templateEnvironment: {
          ...fn.environment,
          BASELINE_UPSTREAM_URL: `${upstream.url}/${ENDPOINT_ID}/health`,
        },
        upstreamBaseUrl: upstream.url,
        secretsManagerUrl: secretsManager.url,
        dynamoDbUrl: services.dynamoDb.url,
      }),
      BENCH_TASK_ROOT: taskRoot,
      BENCH_EVENT: JSON.stringify(eventOf(operation, token)),
      ...extra,
    };
  };
  try {
    for (const [name, operation, taskRoot] of [
      ['cold-health', 'health', bundleDir],
      ['cold-run', 'run', runBundleDir],
      ['cold-baseline', 'health', options.harness.baselineDir],
    ] as const) {
      const dir = join(PROFILE_DIR, name);
      await mkdir(dir, { recursive: true });
      await runProfiled(
        options.harness.coldHarness,
        taskRoot,
        envOf(operation, taskRoot, {}),
        dir,
        name,
      );
      log(
        `\n${name} (one cold start, whole process):\n${await summarizeProfile(await newestProfile(dir), { bundles })}`,
      );
    }
    const warmDir = join(PROFILE_DIR, 'warm-health');
    await mkdir(warmDir, { recursive: true });
    const [warmup, blocks, blockSize] = [300, 8, 500];
    await runProfiled(
      options.harness.warmHarness,
      bundleDir,
      envOf('health', bundleDir, {
        BENCH_BASELINE_REQUEST: JSON.stringify(upstreamRequestOf('health', upstream.url)),
        BENCH_WARMUP: String(warmup),
        BENCH_BLOCKS: String(blocks),
        BENCH_BLOCK_SIZE: String(blockSize),
      }),
      warmDir,
      'warm-health',
    );
    log(
      `\nwarm-health (gateway and baseline invocations in one process; frames outside the bundle are shared or the baseline's):\n${await summarizeProfile(
        await newestProfile(warmDir),
        { bundles, units: warmup + blocks * blockSize, unitName: 'invocation', top: 25 },
      )}`,
    );
  } finally {
    await services.close();
  }
  await profileUnderLoad(log);
  await writeFile(
    join(PROFILE_DIR, 'README.txt'),
    'CPU profiles from `npm run bench -- --only profile`; open in Chrome DevTools (Performance → Load profile) or speedscope.\n',
  );
}

/** `local/main.ts` and the minimal proxy, each profiled under autocannon at 64 connections. */
async function profileUnderLoad(log: (line: string) => void): Promise<void> {
  const keys = await localBenchKeys('profile');
  const { token, simKey } = keys;
  const processes: ServerProcess[] = [];
  try {
    const loader = await startLoadGeneratorProcess('profile-load-generator');
    processes.push(loader);
    const simulator = await startSimulatorProcess('profile-simulator', simKey);
    processes.push(simulator);
    const targets: {
      name: string;
      args: string[];
      env: Record<string, string>;
      path: string;
      headers: Record<string, string>;
    }[] = [
      {
        name: 'e2e-gateway',
        args: tsxArgs('local/main.ts'),
        env: gatewayEnvOf(keys, simulator.ready),
        path: '/v1/runpod/chat/health',
        headers: { authorization: `Bearer ${token}` },
      },
      {
        name: 'e2e-proxy',
        args: tsxArgs('bench/servers/minimal-proxy-main.ts'),
        env: {
          UPSTREAM_ORIGIN: new URL(simulator.ready).origin,
          UPSTREAM_AUTHORIZATION: `Bearer ${simKey}`,
        },
        path: `/v2/${ENDPOINT_ID}/health`,
        headers: {},
      },
    ];
    for (const target of targets) {
      const dir = join(PROFILE_DIR, target.name);
      await mkdir(dir, { recursive: true });
      const server = await startServerProcess({
        name: `profile-${target.name}`,
        args: [...profilerArgs(dir), ...target.args],
        env: baseEnv(target.env),
        readyPattern: READY.server,
      });
      const report = await ipcRequest<LoadReport>(loader.child, {
        url: `${server.ready}${target.path}`,
        connections: 64,
        durationSeconds: 6,
        method: 'GET',
        headers: target.headers,
      });
      await server.stop(); // SIGTERM: both exit through process.exit, which writes the profile
      log(
        `\n${target.name} (${Math.round(report.perSecond)} req/s at c=64, startup included):\n${await summarizeProfile(
          await newestProfile(dir),
          { units: report.requests, unitName: 'request', top: 25 },
        )}`,
      );
    }
  } finally {
    for (const started of processes.reverse()) await started.stop();
  }
}
