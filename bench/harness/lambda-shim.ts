import { once } from 'node:events';
import { Writable } from 'node:stream';
import { type HttpPrelude, isStreamingHandler } from '../../local/lambda-streaming-shim.ts';

/**
 * Invokes a handler the way the Lambda Node.js runtime does, with the local runtime's
 * `awslambda` shim installed (`installLambdaStreamingShim`): a buffered answer is serialized
 * with JSON.stringify, a streamed one is written to a response stream (prelude, 8 NUL bytes,
 * body). Used identically for the baseline and the gateway.
 */

/** Collects a streamed response, counting the prelude as the runtime would send it. */
class ResponseSink extends Writable {
  prelude: HttpPrelude | undefined;
  bytes = 0;
  #preludeSent = false;

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.prelude && !this.#preludeSent) {
      this.#preludeSent = true;
      this.bytes += Buffer.byteLength(JSON.stringify(this.prelude)) + 8;
    }
    this.bytes += chunk.length;
    callback();
  }
}

type StreamingHandler = (event: unknown, stream: Writable, context: unknown) => Promise<unknown>;
type BufferedHandler = (event: unknown, context: unknown) => Promise<unknown>;

export interface InvocationOutcome {
  readonly statusCode: number;
  readonly bytes: number;
}

/** A Lambda context with the function's deadline. */
export function lambdaContext(requestId: string, timeoutMs: number): Record<string, unknown> {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench'}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '256',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

export async function invoke(
  handler: unknown,
  event: unknown,
  context: unknown,
): Promise<InvocationOutcome> {
  if (typeof handler !== 'function') throw new Error('The module exports no handler function');
  if (isStreamingHandler(handler)) {
    const sink = new ResponseSink();
    await (handler as unknown as StreamingHandler)(event, sink, context);
    if (!sink.writableFinished) await once(sink, 'finish');
    return { statusCode: sink.prelude?.statusCode ?? 200, bytes: sink.bytes };
  }
  const result = await (handler as unknown as BufferedHandler)(event, context);
  const payload = JSON.stringify(result);
  const statusCode = (result as { statusCode?: unknown } | undefined)?.statusCode;
  return {
    statusCode: typeof statusCode === 'number' ? statusCode : 200,
    bytes: Buffer.byteLength(payload),
  };
}
