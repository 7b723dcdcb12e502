import * as z from 'zod/mini';
import { ratesSchema } from './rates.ts';

/**
 * A key's own limits, beyond the stage's and RunPod's (README "Limits and usage"): in its key
 * store entry, or for every key without its own as `keyDefaults.limits` in the routing config.
 */
export const keyLimitsSchema = z.looseObject({
  /** Request rates by operation; `"*"` for every operation not named. */
  rate: z.optional(ratesSchema),
  /** How many long-running requests (streams, runsync, status-sync) the key may hold at once. */
  concurrent: z.optional(z.int().check(z.minimum(1), z.maximum(1_000))),
  /** How many of the key's jobs may be submitted and not yet seen to end, at once. */
  inFlight: z.optional(z.int().check(z.minimum(1), z.maximum(100_000))),
  /** Per UTC day: jobs (`run` and `runsync` together) it may submit, GPU-seconds it may use. */
  daily: z.optional(
    z.looseObject({
      jobs: z.optional(z.int().check(z.minimum(0))),
      gpuSeconds: z.optional(z.number().check(z.minimum(0))),
    }),
  ),
});

export type KeyLimits = z.infer<typeof keyLimitsSchema>;

/**
 * The limits that apply to a key: its own, each field in place of the default's (`daily` field
 * by field), and the routing config's defaults for the fields it does not set.
 */
export function effectiveLimits(
  own: KeyLimits | undefined,
  defaults: KeyLimits | undefined,
): KeyLimits | undefined {
  if (defaults === undefined) return own;
  if (own === undefined) return defaults;
  const daily =
    own.daily === undefined || defaults.daily === undefined
      ? (own.daily ?? defaults.daily)
      : { ...defaults.daily, ...own.daily };
  return { ...defaults, ...own, ...(daily === undefined ? {} : { daily }) };
}
