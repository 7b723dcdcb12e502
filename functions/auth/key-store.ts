import * as z from 'zod/mini';
import { keyLimitsSchema } from '../limits/key-limits-schema.ts';
import { rateFor } from '../limits/rates.ts';
import { logger } from '../observability/logger.ts';
import { OPERATIONS, type Operation } from '../routes.ts';
import { crypto } from '../runtime/builtins.ts';
import { describeIssues } from '../validation/describe-issues.ts';

/**
 * One consumer key. Fields this version does not know (an operator's `"team"`, a newer version's
 * limits) are kept, not refused: a key store is edited by hand and shared by every function.
 */
const keyEntrySchema = z.looseObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)),
  /** Hex, either case (compared in lower case). */
  sha256: z.pipe(
    z.string().check(z.regex(/^[0-9a-fA-F]{64}$/)),
    z.transform((digest: string) => digest.toLowerCase()),
  ),
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
  limits: z.optional(keyLimitsSchema),
});

/** The document around the entries; each entry is checked on its own (`parseKeyStore`). */
const keyStoreShape = z.looseObject({ keys: z.array(z.unknown()) });

export const keyStoreSchema = z.looseObject({ keys: z.array(keyEntrySchema) });

export type KeyEntry = z.infer<typeof keyEntrySchema>;
export type KeyStoreDocument = z.infer<typeof keyStoreSchema>;

/** A key store read entry by entry: the valid entries, and what is wrong with the others. */
export interface ParsedKeyStore {
  readonly keys: KeyEntry[];
  /** One sentence per entry left out, naming its index, its id when readable, and the field. */
  readonly problems: string[];
}

/**
 * Reads a key store entry by entry: a bad entry (a malformed digest, a missing surface list, an
 * unknown operation) leaves out that entry only, so one typo cannot lock every consumer out or
 * keep a warm function serving a stale copy. Only a document that is not JSON, or has no `keys`
 * array, is refused whole. Messages name fields, never the content.
 */
export function parseKeyStore(text: string): ParsedKeyStore {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('Key store is not valid JSON');
  }
  const shape = keyStoreShape.safeParse(json, { reportInput: true });
  if (!shape.success) {
    throw new Error(`Invalid key store: ${describeIssues(shape.error.issues)}`);
  }
  const keys: KeyEntry[] = [];
  const problems: string[] = [];
  shape.data.keys.forEach((candidate, index) => {
    const result = keyEntrySchema.safeParse(candidate, { reportInput: true });
    if (result.success) {
      keys.push(result.data);
      return;
    }
    const id =
      typeof candidate === 'object' && candidate !== null && 'id' in candidate
        ? candidate.id
        : undefined;
    const name = typeof id === 'string' && /^[\w.-]{1,64}$/.test(id) ? ` (id ${id})` : '';
    problems.push(
      `keys.${index}${name} is ignored: ${describeIssues(result.error.issues, `keys.${index}`)}`,
    );
  });
  return { keys, problems };
}

/** Consumer tokens carry this prefix so leak scanners can recognise them. */
export const TOKEN_PREFIX = 'rpg_';

export function sha256Hex(token: string): string {
  // One-shot hash: no Hash object per request.
  return crypto.hash('sha256', token, 'hex');
}

/** Validates a whole key store document strictly (what the key CLI writes); names the bad field. */
export function parseKeyStoreDocument(text: string): KeyStoreDocument {
  const { keys, problems } = parseKeyStore(text);
  if (problems.length > 0) throw new Error(`Invalid key store: ${problems.join('; ')}`);
  return { keys };
}

/**
 * The consumer keys, indexed by digest. Only digests are stored, so a leaked key store
 * reveals no usable token; looking a token up by its digest also means no comparison of
 * secret material runs in time that depends on it.
 */
export class KeyStore {
  readonly #byDigest: Map<string, KeyEntry>;

  constructor(document: KeyStoreDocument, problems: readonly string[] = []) {
    this.#byDigest = new Map(document.keys.map((entry) => [entry.sha256, entry]));
    this.problems = problems;
  }

  /** Entries left out of this store, and why (also logged as errors when it is read). */
  readonly problems: readonly string[];

  static parse(text: string): KeyStore {
    const { keys, problems } = parseKeyStore(text);
    for (const problem of problems) {
      logger.error('key store entry ignored', { problem });
    }
    return new KeyStore({ keys }, problems);
  }

  /** Every key id in the store, once each (a rotated key has several entries). */
  ids(): string[] {
    return [...new Set([...this.#byDigest.values()].map((entry) => entry.id))];
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

/** The key's request rate for an operation (its own, else its `"*"`), if it has one. */
export function rateLimitOf(
  entry: KeyEntry,
  operation: Operation,
): { perSecond: number; burst: number } | undefined {
  return rateFor(entry.limits?.rate, operation);
}
