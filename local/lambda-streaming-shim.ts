import { Writable } from 'node:stream';

/**
 * The two pieces of the Lambda Node.js runtime that streaming handlers use
 * (`awslambda.streamifyResponse`, `awslambda.HttpResponseStream.from`), so the very same
 * handler modules stream over plain HTTP locally. Installed before any handler is imported.
 */
export const STREAMING_HANDLER = Symbol('streamingHandler');

export interface HttpPrelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** A Lambda response stream: the HTTP prelude arrives first, then raw body bytes. */
export class LocalResponseStream extends Writable {
  prelude: HttpPrelude | undefined;
  readonly #onPrelude: (prelude: HttpPrelude) => void;
  readonly #onChunk: (chunk: Buffer, done: () => void) => void;
  #started = false;

  constructor(
    onPrelude: (prelude: HttpPrelude) => void,
    onChunk: (chunk: Buffer, done: () => void) => void,
  ) {
    super();
    this.#onPrelude = onPrelude;
    this.#onChunk = onChunk;
  }

  get started(): boolean {
    return this.#started;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (!this.#started) {
      this.#started = true;
      this.#onPrelude(this.prelude ?? { statusCode: 200 });
    }
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.#onChunk(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#started) {
      this.#started = true;
      this.#onPrelude(this.prelude ?? { statusCode: 200 });
    }
    callback();
  }
}

type StreamingHandler = (
  event: unknown,
  stream: LocalResponseStream,
  context: unknown,
) => Promise<unknown>;

export function installLambdaStreamingShim(): void {
  // The AWS SDK's invoke store creates `globalThis.awslambda` (empty) when it loads, so the shim
  // fills in what is missing rather than looking for the object.
  const global = globalThis as { awslambda?: Record<string, unknown> };
  global.awslambda ??= {};
  const awslambda = global.awslambda;
  awslambda.streamifyResponse ??= (handler: StreamingHandler) => {
    Object.defineProperty(handler, STREAMING_HANDLER, { value: true });
    return handler;
  };
  awslambda.HttpResponseStream ??= {
    from: (stream: LocalResponseStream, prelude: HttpPrelude) => {
      stream.prelude = prelude;
      return stream;
    },
  };
}

export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return typeof handler === 'function' && STREAMING_HANDLER in handler;
}
