import { type Duration, Token } from 'aws-cdk-lib';

/**
 * Construct-time checks of props. Each throws an Error naming the prop, the bad value and
 * what is allowed. Values that are still tokens (e.g. CloudFormation parameters) are passed
 * through: they can only be checked at deploy time.
 */

export function checkInteger(name: string, value: number, min: number, max: number): number {
  if (Token.isUnresolved(value)) return value;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

export function checkPositiveNumber(name: string, value: number): number {
  if (Token.isUnresolved(value)) return value;
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number greater than 0, got ${value}`);
  }
  return value;
}

/** A duration in whole milliseconds, strictly between 0 and `maxExclusiveMs`. */
export function checkDurationMs(name: string, value: Duration, maxExclusiveMs: number): number {
  if (value.isUnresolved()) {
    throw new Error(`${name} must be a literal duration known at synth time, got a token`);
  }
  const ms = value.toMilliseconds();
  if (!Number.isInteger(ms) || ms <= 0 || ms >= maxExclusiveMs) {
    throw new Error(
      `${name} must be a whole number of milliseconds above 0 and below ${maxExclusiveMs} ms, got ${value.toHumanString()}`,
    );
  }
  return ms;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The RunPod API base URL: https, or plain http only for a loopback host (a local simulator).
 * Credentials in the URL are refused: they would land in the function environment in clear.
 */
export function checkUpstreamBaseUrl(value: string): string {
  if (Token.isUnresolved(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`upstreamBaseUrl must be an absolute URL, got "${value}"`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(
      `upstreamBaseUrl must use https (http is allowed only for localhost/127.0.0.1/[::1]), got "${value}"`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error(
      'upstreamBaseUrl must not carry credentials: the RunPod key belongs in the RunPod key secret',
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error(`upstreamBaseUrl must have no query or fragment, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

/** API Gateway stage names: letters, digits, `-` and `_`, up to 128 characters. */
export function checkStageName(value: string): string {
  if (Token.isUnresolved(value)) return value;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
    throw new Error(`stageName must be 1-128 characters of A-Z a-z 0-9 _ -, got "${value}"`);
  }
  return value;
}
