import * as z from 'zod/mini';
import { OPERATIONS, type Operation } from '../routes.ts';

/** A request rate: `perSecond` steady, `burst` at once (default: one second's worth, at least 1). */
const rateSchema = z.strictObject({
  perSecond: z.number().check(z.positive(), z.maximum(1_000)),
  burst: z.optional(z.int().check(z.minimum(1), z.maximum(10_000))),
});

/**
 * Request rates by operation, `"*"` for every operation not named: a key's own
 * (`limits.rate` in the key store) or a surface's endpoint budget (`endpointRates` in the routing
 * config). One item per holder and operation counts them (`rate-limiter.ts`).
 */
export const ratesSchema = z.partialRecord(z.enum([...OPERATIONS, '*']), rateSchema);

export type Rates = z.infer<typeof ratesSchema>;

/** The rate for an operation (its own, else `"*"`), with its burst filled in. */
export function rateFor(
  rates: Rates | undefined,
  operation: Operation,
): { perSecond: number; burst: number } | undefined {
  const rate = rates?.[operation] ?? rates?.['*'];
  if (rate === undefined) return undefined;
  return { perSecond: rate.perSecond, burst: rate.burst ?? Math.max(1, Math.ceil(rate.perSecond)) };
}
