import { type TokenUsage, tokenUsageOf } from '../ledger/token-counters.ts';
import type { RunPodStream } from '../runpod/client.ts';
import { stream as nodeStream } from '../runtime/builtins.ts';
import { SSE_KEEP_ALIVE } from './sse-format.ts';

type Readable = import('node:stream').Readable;

export type OpenAiStreamOutcome = 'done' | 'error' | 'timeout' | 'disconnected';

export interface OpenAiRelayOptions {
  readonly upstream: RunPodStream;
  /** Aborts the upstream exchange (the caller left, or the stream ran out of time). */
  readonly abort: () => void;
  /** Epoch ms at which the stream ends with an error event (the route's maximum duration). */
  readonly endsAt: number;
  /** A comment is sent after this long without bytes, between events only. */
  readonly keepAliveMs: number;
  readonly requestId: string;
  readonly onFinish: (summary: {
    readonly outcome: OpenAiStreamOutcome;
    readonly code?: string | undefined;
    /** The last `usage` a chunk carried (`stream_options.include_usage`). */
    readonly usage: TokenUsage | undefined;
    readonly bytes: number;
  }) => void;
}

/** Kept back from `endsAt` to write the closing error event. */
const CLOSE_MARGIN_MS = 500;
/** A `data:` line longer than this is not looked into for `usage` (usage chunks are small). */
const MAX_TAPPED_LINE_CHARS = 64 * 1024;

/**
 * A worker's OpenAI-style Server-Sent Events passed to the caller chunk by chunk as they arrive,
 * never buffered, ending as the upstream ends (after its `data: [DONE]`). Between events, a
 * comment keeps quiet connections open while the model thinks. A failure mid-stream — the
 * upstream cut off, or the maximum duration reached — ends the stream with one
 * `data: {"error": {…}}` event, which OpenAI's clients raise as an API error. The `usage` a chunk
 * carries is noted on the way (the bytes are not changed). A caller who leaves aborts the
 * upstream. `finished` settles once the relay has stopped and reported.
 */
export function relayOpenAiStream(
  options: OpenAiRelayOptions,
): Readable & { readonly finished: Promise<void> } {
  const { upstream } = options;
  const out = new nodeStream.PassThrough();
  const tap = new UsageTap();
  let bytes = 0;
  let lastWriteAt = Date.now();
  let atBoundary = true;
  let endedWithNewline = false;
  let finished = false;
  let resolveFinished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });

  const finish = (outcome: OpenAiStreamOutcome, code?: string) => {
    if (finished) return;
    finished = true;
    clearInterval(keepAlive);
    clearTimeout(deadline);
    upstream.body.removeAllListeners('data');
    options.onFinish({ outcome, code, usage: tap.usage, bytes });
    resolveFinished();
  };
  const fail = (code: string, message: string) => {
    if (finished) return;
    options.abort();
    if (!out.destroyed) {
      // An event cut short is closed first, so the error arrives as an event of its own.
      const closing = atBoundary ? '' : '\n\n';
      out.end(
        `${closing}data: ${JSON.stringify({
          error: { message, type: 'api_error', param: null, code, request_id: options.requestId },
        })}\n\n`,
      );
    }
    finish(code === 'gateway_timeout' ? 'timeout' : 'error', code);
  };

  upstream.body.on('data', (chunk: Buffer) => {
    if (finished) return;
    bytes += chunk.length;
    lastWriteAt = Date.now();
    // Whether the bytes so far end an event (a blank line), where a comment may go.
    const tail = `${endedWithNewline ? '\n' : ''}${chunk.subarray(-2).toString('latin1')}`;
    atBoundary = tail.endsWith('\n\n');
    endedWithNewline = tail.endsWith('\n');
    tap.push(chunk);
    out.write(chunk);
  });
  upstream.body.once('end', () => {
    if (finished) return;
    out.end();
    finish('done');
  });
  upstream.body.once('close', () => {
    // Closed without its end: the worker (or the connection to it) went away mid-answer.
    if (!upstream.body.complete) {
      fail('upstream_error', "The worker's stream broke off before it finished");
    }
  });
  upstream.body.on('error', () => {
    fail('upstream_error', "The worker's stream broke off before it finished");
  });
  out.once('close', () => {
    if (finished) return;
    options.abort();
    finish('disconnected');
  });

  const keepAlive = setInterval(
    () => {
      if (atBoundary && Date.now() - lastWriteAt >= options.keepAliveMs && !out.destroyed) {
        out.write(SSE_KEEP_ALIVE);
        lastWriteAt = Date.now();
      }
    },
    Math.max(50, Math.min(options.keepAliveMs, 5_000)),
  );
  const deadline = setTimeout(
    () => {
      fail(
        'gateway_timeout',
        'The stream reached the gateway’s maximum duration before the worker finished',
      );
    },
    Math.max(0, options.endsAt - CLOSE_MARGIN_MS - Date.now()),
  );
  return Object.assign(out, { finished: done });
}

/** Reads `data:` lines as they pass and keeps the last `usage` one carried. */
class UsageTap {
  usage: TokenUsage | undefined;
  readonly #decoder = new TextDecoder();
  #pending = '';

  push(chunk: Buffer): void {
    const text = this.#pending + this.#decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    this.#pending = lines.pop() ?? '';
    if (this.#pending.length > MAX_TAPPED_LINE_CHARS) this.#pending = '';
    for (const line of lines) {
      if (!line.startsWith('data:') || !line.includes('"usage"')) continue;
      try {
        const usage = tokenUsageOf(JSON.parse(line.slice(5)));
        if (usage !== undefined) this.usage = usage;
      } catch {
        // Not JSON: passed on as it came, and nothing to count.
      }
    }
  }
}
