import * as z from 'zod/mini';

/**
 * Identifiers that end up in upstream URLs. Their charsets leave no room for `/`, `%`, `?`,
 * `#` or `..`, so a validated value can never change which RunPod URL is called.
 */
export const surfaceName = z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/));

/** RunPod endpoint IDs are lowercase alphanumerics (public endpoints use hyphenated slugs). */
export const endpointId = z.string().check(z.regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/));

/** RunPod job IDs: UUIDs, optionally prefixed (`sync-`) or suffixed (`-u1`, `-e1`). */
export const jobId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/));

export const modelName = z.string().check(z.minLength(1), z.maxLength(256));
