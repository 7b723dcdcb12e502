/**
 * Validates a `/run` or `/runsync` body (reference §2.1): a JSON object whose `input` is an object,
 * with optional `webhook`, `policy` and `s3Config`. Other top-level keys (`webhookV2`, ...) are
 * accepted and ignored; `s3Config` is accepted and never echoed. Policy bounds (5 s–7 days,
 * 10 s–7 days) are not enforced, so tests can use short timeouts.
 */
import type { SubmitRequest } from './job-engine.ts';
import { parseWorkerScript } from './worker-script.ts';

export const DEFAULT_EXECUTION_TIMEOUT_MS = 600_000;
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

export type SubmitBodyResult =
  | { readonly ok: true; readonly request: SubmitRequest }
  | { readonly ok: false; readonly error: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveMs(value: unknown, name: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    return `policy.${name} must be a positive number of milliseconds`;
  }
  return value;
}

export function parseSubmitBody(body: unknown, sync: boolean): SubmitBodyResult {
  if (!isPlainObject(body) || !isPlainObject(body.input)) {
    return { ok: false, error: 'The request body must be a JSON object with an object "input"' };
  }
  const { input, webhook, policy = {}, s3Config } = body;
  if (webhook !== undefined && typeof webhook !== 'string') {
    return { ok: false, error: 'webhook must be a URL string' };
  }
  if (s3Config !== undefined && !isPlainObject(s3Config)) {
    return { ok: false, error: 's3Config must be an object' };
  }
  if (!isPlainObject(policy)) return { ok: false, error: 'policy must be an object' };
  const executionTimeout = positiveMs(
    policy.executionTimeout,
    'executionTimeout',
    DEFAULT_EXECUTION_TIMEOUT_MS,
  );
  if (typeof executionTimeout === 'string') return { ok: false, error: executionTimeout };
  const ttl = positiveMs(policy.ttl, 'ttl', DEFAULT_TTL_MS);
  if (typeof ttl === 'string') return { ok: false, error: ttl };
  const lowPriority = policy.lowPriority ?? false;
  if (typeof lowPriority !== 'boolean') {
    return { ok: false, error: 'policy.lowPriority must be a boolean' };
  }
  const script = parseWorkerScript(input);
  if (!script.ok) return script;
  return {
    ok: true,
    request: {
      input,
      webhook,
      policy: { executionTimeout, ttl, lowPriority },
      script: script.script,
      sync,
    },
  };
}
