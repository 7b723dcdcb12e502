import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { epochNow, NODE, PROJECT_ROOT, tailOf } from './processes.ts';
import { ACCOUNT, REGION } from './synth.ts';

/**
 * A one-invocation Lambda Runtime API for `aws-lambda-ric`: the first
 * `GET /2018-06-01/runtime/invocation/next` gets the event, later polls are held (the
 * environment would be frozen), and the invocation's response, buffered or streamed, resolves
 * `response` when its last byte arrived.
 */
export interface RuntimeResponse {
  /** Epoch ms when the response body ended. */
  readonly receivedAt: number;
  /** Epoch ms of the runtime's first poll: the handler module had loaded. */
  readonly firstPollAt: number;
  readonly statusCode: number;
  readonly streamed: boolean;
  readonly bytes: number;
}

export interface OneShotRuntimeApi {
  /** `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`. */
  readonly address: string;
  readonly response: Promise<RuntimeResponse>;
  close(): Promise<void>;
}

const REQUEST_ID = '8476a536-e9f4-11e8-9739-2dfe598c3fcd';
const SEPARATOR = Buffer.alloc(8);

export async function startOneShotRuntimeApi(
  event: unknown,
  functionArn: string,
  timeoutMs: number,
): Promise<OneShotRuntimeApi> {
  const eventJson = JSON.stringify(event);
  let delivered = false;
  let firstPollAt = 0;
  let settle:
    | { resolve: (value: RuntimeResponse) => void; reject: (error: Error) => void }
    | undefined;
  const response = new Promise<RuntimeResponse>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((request: IncomingMessage, reply: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'GET' && path === '/2018-06-01/runtime/invocation/next') {
      if (firstPollAt === 0) firstPollAt = epochNow();
      if (delivered) return; // held: no second invocation
      delivered = true;
      reply.writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': REQUEST_ID,
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + timeoutMs),
        'Lambda-Runtime-Invoked-Function-Arn': functionArn,
        'Lambda-Runtime-Trace-Id':
          'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0',
      });
      reply.end(eventJson);
      return;
    }
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.once('end', () => {
      const receivedAt = epochNow();
      reply.writeHead(202, { 'Content-Type': 'application/json' });
      reply.end('{"status":"OK"}');
      const body = Buffer.concat(parts);
      if (path.endsWith('/error')) {
        settle?.reject(
          new Error(`The runtime reported an error: ${body.toString('utf8').slice(0, 2000)}`),
        );
        return;
      }
      if (!path.endsWith('/response')) return;
      const streamed = request.headers['lambda-runtime-function-response-mode'] === 'streaming';
      settle?.resolve({
        receivedAt,
        firstPollAt,
        streamed,
        bytes: body.length,
        statusCode: statusCodeOf(body, streamed),
      });
    });
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    response,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function statusCodeOf(body: Buffer, streamed: boolean): number {
  try {
    if (streamed) {
      const end = body.indexOf(SEPARATOR);
      if (end < 0) return 200;
      return Number(
        (JSON.parse(body.subarray(0, end).toString('utf8')) as { statusCode?: number })
          .statusCode ?? 200,
      );
    }
    return Number((JSON.parse(body.toString('utf8')) as { statusCode?: number }).statusCode ?? 200);
  } catch {
    return Number.NaN;
  }
}

const RIC_ENTRY = join(PROJECT_ROOT, 'node_modules', 'aws-lambda-ric', 'index.mjs');

/**
 * One invocation of a function under the real runtime interface client: a fresh
 * `aws-lambda-ric` process on a one-shot Runtime API, until its response has fully arrived.
 * `measure` runs then, before the process is killed (to read its /proc entry). Throws, with the
 * tail of `logFile`, when the process exits first or the answer is not a 200.
 */
export async function invokeOnceUnderRic<T>(options: {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly event: unknown;
  readonly functionName: string;
  readonly timeoutMs: number;
  /** Where the process's output goes (an open file descriptor). */
  readonly logFd: number;
  readonly logFile: string;
  readonly measure: (pid: number | undefined) => T;
}): Promise<{
  readonly spawnedAt: number;
  readonly response: RuntimeResponse;
  readonly measured: T;
}> {
  const api = await startOneShotRuntimeApi(
    options.event,
    `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${options.functionName}`,
    options.timeoutMs,
  );
  const spawnedAt = epochNow();
  const child = spawn(NODE, [RIC_ENTRY], {
    cwd: options.cwd,
    env: { ...options.env, AWS_LAMBDA_RUNTIME_API: api.address },
    stdio: ['ignore', options.logFd, options.logFd],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  try {
    const response = await Promise.race([
      api.response,
      exited.then((code) => {
        throw new Error(`aws-lambda-ric exited with ${code}`);
      }),
    ]);
    if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
    return { spawnedAt, response, measured: options.measure(child.pid) };
  } catch (error) {
    throw new Error(
      `${options.functionName} under aws-lambda-ric failed: ${String(error)}\n${tailOf(options.logFile)}`,
    );
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await api.close();
  }
}
