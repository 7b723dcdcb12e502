/**
 * Reading request bodies and writing JSON answers. Every answer, errors included, is
 * `application/json`: RunPod's Python asyncio client refuses anything else (reference §1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type BodyResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: 'too-large' };

/**
 * Reads the whole body. Past `limitBytes` the rest is read and dropped (not kept in memory), so
 * the client still gets the 400 instead of a reset connection while it is uploading.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    request.once('end', () => {
      if (size > limitBytes) resolve({ ok: false, reason: 'too-large' });
      else resolve({ ok: true, text: Buffer.concat(chunks, size).toString('utf8') });
    });
    request.once('error', reject);
    request.once('close', () => {
      if (!request.complete) reject(new Error('client closed the request before its body ended'));
    });
  });
}

/** Whether the client is gone, or an answer was already written. */
export function isClosed(response: ServerResponse): boolean {
  return response.destroyed || response.writableEnded;
}

export function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (isClosed(response)) return;
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function sendError(
  response: ServerResponse,
  statusCode: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(response, statusCode, { error: message }, headers);
}

/** Go's encoding/json (RunPod's API) refuses JSON nested deeper than this. */
export const MAX_JSON_DEPTH = 10_000;

/**
 * The deepest nesting of objects and arrays in JSON text, found by one scan that skips strings.
 * Deeper documents would also overflow the stack when serialized again (a webhook, an echo).
 */
export function nestingDepthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92)
        index++; // a backslash escapes the next character
      else if (code === 34) inString = false;
    } else if (code === 34) {
      inString = true;
    } else if (code === 123 || code === 91) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (code === 125 || code === 93) {
      depth--;
    }
  }
  return deepest;
}
