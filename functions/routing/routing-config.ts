import * as z from 'zod/mini';
import { keyLimitsSchema } from '../limits/key-limits-schema.ts';
import { ratesSchema } from '../limits/rates.ts';
import { describeIssues } from '../validation/describe-issues.ts';
import { endpointId, modelName, surfaceName } from './identifiers.ts';

/** A Secrets Manager secret name or ARN; never a value. */
const secretReference = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(2048),
    z.regex(/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]+$/),
  );

const surfaceSchema = z.strictObject({
  /** The surface's default RunPod endpoint. */
  endpointId: z.optional(endpointId),
  /** Model name → endpoint; chosen by `?model=` or `input.model`. */
  models: z.optional(z.record(modelName, endpointId)),
  /** Further endpoints a caller may pick with `?endpointId=`. */
  allowedEndpointIds: z.optional(z.array(endpointId)),
  /** A RunPod key secret of its own (another account or a restricted key). */
  apiKeySecret: z.optional(secretReference),
  /**
   * Let follow-up calls reach jobs the ledger never recorded (submitted before it existed, or
   * directly at RunPod), routed as before the ledger and open to any key granted the surface.
   * Off by default: such jobs answer 404 `job_not_found`.
   */
  allowUnrecordedJobs: z.optional(z.boolean()),
  /**
   * The most requests the gateway sends each of the surface's RunPod endpoints, by operation
   * (`"*"` for the rest), for all consumers together: a burst past it is the gateway's 429
   * `endpoint_rate_limited` for the consumer who sent it, instead of RunPod's 429 for everyone.
   * Off unless set (one more table write per request).
   */
  endpointRates: z.optional(ratesSchema),
});

export const routingConfigSchema = z.strictObject({
  surfaces: z.record(surfaceName, surfaceSchema),
  /**
   * What every consumer key gets unless its key store entry says otherwise: `limits` (field by
   * field). Without it, a key has no limits of its own.
   */
  keyDefaults: z.optional(z.strictObject({ limits: z.optional(keyLimitsSchema) })),
});

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
export type SurfaceConfig = z.infer<typeof surfaceSchema>;

/** Validates a routing config; the error names every bad field. Used at synth time and cold start. */
export function parseRoutingConfig(json: unknown): RoutingConfig {
  const result = routingConfigSchema.safeParse(json, { reportInput: true });
  if (!result.success) {
    throw new Error(`Invalid routing config: ${describeIssues(result.error.issues)}`);
  }
  return result.data;
}
