/**
 * RunPod accepts the API key as `Authorization: Bearer <key>` (the SDKs) or as the bare key (the
 * docs' cURL examples, and workers), reference §6.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^bearer\s+/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests so the comparison takes the same time whatever the presented key. */
export function isAuthorized(authorization: string | undefined, apiKey: string): boolean {
  if (authorization === undefined) return false;
  const presented = authorization.replace(BEARER, '').trim();
  return timingSafeEqual(digest(presented), digest(apiKey));
}
