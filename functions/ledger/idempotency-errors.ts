/**
 * What can go wrong with an `Idempotency-Key`, apart from the Powertools code that checks it
 * (`idempotent-submissions.ts`, in the submitting functions only): `http/map-error.ts`, in every
 * function, maps these.
 */

export class InvalidIdempotencyKeyError extends Error {
  override name = 'InvalidIdempotencyKeyError';
}

/** The first request with this key is still being processed. */
export class IdempotencyInProgressError extends Error {
  override name = 'IdempotencyInProgressError';
}

/** The key was used before with a different request. */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
}
