import { hash } from 'node:crypto';
import * as z from 'zod/mini';
import { OPERATIONS, type Operation } from '../routes.ts';
import { describeIssues } from '../validation/describe-issues.ts';

const keyEntrySchema = z.strictObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  /** Surfaces the key may use; `["*"]` for all. */
  surfaces: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  /** Operations the key may call; all but `purge-queue` when absent. */
  operations: z.optional(z.array(z.enum(OPERATIONS))),
  /**
   * Surfaces on which the key may act on every consumer's jobs (operators); `["*"]` for all.
   * Without it a key reaches only the jobs it submitted.
   */
  allJobs: z.optional(z.array(z.string().check(z.minLength(1)))),
  expiresAt: z.optional(z.iso.datetime({ offset: true })),
  disabled: z.optional(z.boolean()),
  description: z.optional(z.string().check(z.maxLength(500))),
  createdAt: z.optional(z.iso.datetime({ offset: true })),
});

export const keyStoreSchema = z.strictObject({ keys: z.array(keyEntrySchema) });

export type KeyEntry = z.infer<typeof keyEntrySchema>;
export type KeyStoreDocument = z.infer<typeof keyStoreSchema>;

/** Consumer tokens carry this prefix so leak scanners can recognise them. */
export const TOKEN_PREFIX = 'rpg_';

export function sha256Hex(token: string): string {
  // One-shot hash: no Hash object per request.
  return hash('sha256', token, 'hex');
}

/** Validates a key store document; the error names the bad field, never the content. */
export function parseKeyStoreDocument(text: string): KeyStoreDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('Key store is not valid JSON');
  }
  const result = keyStoreSchema.safeParse(json, { reportInput: true });
  if (!result.success) {
    throw new Error(`Invalid key store: ${describeIssues(result.error.issues)}`);
  }
  return result.data;
}

/**
 * The consumer keys, indexed by digest. Only digests are stored, so a leaked key store
 * reveals no usable token; looking a token up by its digest also means no comparison of
 * secret material runs in time that depends on it.
 */
export class KeyStore {
  readonly #byDigest: Map<string, KeyEntry>;

  constructor(document: KeyStoreDocument) {
    this.#byDigest = new Map(document.keys.map((entry) => [entry.sha256, entry]));
  }

  static parse(text: string): KeyStore {
    return new KeyStore(parseKeyStoreDocument(text));
  }

  /** The usable entry for a token, or undefined when unknown, disabled or expired. */
  find(token: string, now: Date): KeyEntry | undefined {
    const entry = this.#byDigest.get(sha256Hex(token));
    if (!entry || entry.disabled) return undefined;
    if (entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= now.getTime()) {
      return undefined;
    }
    return entry;
  }
}

export function grantsSurface(entry: KeyEntry, surface: string): boolean {
  return entry.surfaces.includes('*') || entry.surfaces.includes(surface);
}

/** Operations a key without an `operations` list does not get: they act on every consumer. */
const EXPLICIT_OPERATIONS: ReadonlySet<Operation> = new Set(['purge-queue']);

export function grantsOperation(entry: KeyEntry, operation: Operation): boolean {
  if (entry.operations === undefined) return !EXPLICIT_OPERATIONS.has(operation);
  return entry.operations.includes(operation);
}

/** Whether the key may act on jobs other keys submitted on this surface. */
export function grantsAllJobs(entry: KeyEntry, surface: string): boolean {
  const surfaces = entry.allJobs ?? [];
  return surfaces.includes('*') || surfaces.includes(surface);
}
