import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Paths and child-process plumbing shared by the sections. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
/** Everything the bench generates (synth output, compiled harnesses, profiles); git-ignored. */
export const OUT_DIR = join(PROJECT_ROOT, 'bench', 'out');
/** The Node that runs the bench (Node 24 from the `node` devDependency when run via npm). */
export const NODE = process.execPath;
export const BIN = join(PROJECT_ROOT, 'node_modules', '.bin');

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** The first capture of the ready pattern in the process's output, e.g. the listening URL. */
  readonly ready: string;
  /** The file holding the process's stdout and stderr. */
  readonly logFile: string;
  stop(): Promise<void>;
}

/** The log file of a child process: `bench/out/logs/<name>.log`, emptied first. */
export function logFileOf(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  return join(LOG_DIR, `${name}.log`);
}

export const LOG_DIR = join(OUT_DIR, 'logs');

/** The last bytes of a log file, for error messages. */
export function tailOf(file: string, bytes = 4000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * Spawns a server process with its stdout and stderr going to a log file (as a Lambda's go to
 * the runtime's log pipe, read elsewhere): a server that logs one line per request must neither
 * flood the bench's stdout nor make the bench's own process drain it while it measures. Waits
 * until the output matches `readyPattern`. Stopped by its own pid only.
 */
export async function startServerProcess(options: {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly readyPattern: RegExp;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Opens an IPC channel (for `ipcRequest`). */
  readonly ipc?: boolean;
}): Promise<ServerProcess> {
  const logFile = logFileOf(options.name);
  const fd = openSync(logFile, 'w');
  const child = spawn(NODE, [...options.args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env,
    stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let ready: string | undefined;
  while (ready === undefined) {
    const match = options.readyPattern.exec(tailOf(logFile, 64_000));
    if (match) {
      ready = match[1] ?? match[0];
      break;
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.name} exited with ${child.exitCode ?? child.signalCode}:\n${tailOf(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not start in time:\n${tailOf(logFile)}`);
    }
    await sleep(25);
  }
  return {
    child,
    ready,
    logFile,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: `getconf CLK_TCK` on Linux

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat; NaN where
 * /proc is not available. Unlike wall-clock throughput it hardly moves when neighbours load the
 * machine, so it separates "this server does more work" from "the machine was busy".
 */
export function cpuTimeMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at index 2 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

let nextRequestId = 1;

/** Sends `{ id, ...message }` over the child's IPC channel and resolves with the reply of that id. */
export function ipcRequest<T>(
  child: ChildProcess,
  message: Readonly<Record<string, unknown>>,
): Promise<T> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const onMessage = (reply: { id?: number; error?: string }) => {
      if (reply.id !== id) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (reply.error !== undefined) reject(new Error(reply.error));
      else resolve(reply as T);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`child exited with ${code} before answering`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...message, id });
  });
}

/** Node arguments that run a TypeScript entry with tsx's loader (what `tsx file.ts` does, in one process). */
export function tsxArgs(entry: string): string[] {
  return ['--import', 'tsx', entry];
}

/** The environment a child gets: PATH with Node 24 first, nothing else inherited. */
export function baseEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${BIN}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C.UTF-8',
    ...extra,
  };
}
