import { request } from 'node:http';
import { checkResponse } from './contract.ts';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
}

/**
 * One HTTP/1.1 request with exactly the headers given (node:http adds only `Host` and
 * `Connection`), unlike `fetch`, which adds `Accept: *\/*`, `Accept-Encoding` and more. For
 * reproducing what a particular client puts on the wire, such as Go's net/http (no Accept) or
 * Python's requests.
 */
export function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const { origin, pathname, search } = new URL(url);
  return rawTargetRequest(origin, `${pathname}${search}`, init);
}

/**
 * The same with the request target exactly as given (`new URL` would fold `..` and re-encode):
 * for what API Gateway would see from a client that sends odd targets.
 */
export function rawTargetRequest(
  origin: string,
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const outgoing = request({
      hostname,
      port,
      path: target,
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
    });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const status = response.statusCode ?? 0;
        try {
          checkResponse({
            method: init.method ?? 'GET',
            url: `${origin}${target}`,
            status,
            contentType: response.headers['content-type'],
            json,
          });
        } catch (error) {
          reject(error);
          return;
        }
        resolve({ status, headers: response.headers, text, json });
      });
    });
    outgoing.end(init.body);
  });
}
