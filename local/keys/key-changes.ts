import { randomBytes } from 'node:crypto';
import { type KeyEntry, sha256Hex, TOKEN_PREFIX } from '../../functions/auth/key-store.ts';
import type { Operation } from '../../functions/routes.ts';
import type { KeyDocumentStore } from './key-document-store.ts';

export interface NewKey {
  readonly id: string;
  readonly surfaces: readonly string[];
  readonly operations?: readonly Operation[];
  /** Surfaces on which the key may act on every consumer's jobs (operators). */
  readonly allJobs?: readonly string[];
  readonly expiresAt?: string;
  readonly description?: string;
  /** The key's own limits (request rates, concurrency, jobs in flight, daily quotas). */
  readonly limits?: KeyEntry['limits'];
}

/** A consumer token: the prefix for leak scanners, then 256 random bits. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The key-store entry for a new token: its digest only, never the token. */
export function keyEntryOf(key: NewKey, token: string, now = new Date()): KeyEntry {
  return {
    id: key.id,
    sha256: sha256Hex(token),
    surfaces: [...key.surfaces],
    ...(key.operations ? { operations: [...key.operations] } : {}),
    ...(key.allJobs ? { allJobs: [...key.allJobs] } : {}),
    ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
    ...(key.description ? { description: key.description } : {}),
    ...(key.limits ? { limits: key.limits } : {}),
    createdAt: now.toISOString(),
  };
}

/** Adds a key to the store and returns its token, which exists nowhere else afterwards. */
export async function createKey(
  store: KeyDocumentStore,
  key: NewKey,
): Promise<{ token: string; entry: KeyEntry }> {
  // Made once: a retried change (another operator's write came first) stores the same digest.
  const token = generateToken();
  const entry = keyEntryOf(key, token);
  return store.change(({ entries }) => {
    if (entries.some((existing) => idOf(existing) === key.id)) {
      throw new Error(`A key with id ${key.id} already exists in ${store.name}`);
    }
    return { entries: [...entries, entry], result: { token, entry } };
  });
}

/** Sets `disabled` on every entry with this id; how many there were. */
export async function setKeyDisabled(
  store: KeyDocumentStore,
  id: string,
  disabled: boolean,
): Promise<number> {
  return store.change(({ entries }) => {
    const matching = entries.filter((entry) => idOf(entry) === id);
    for (const entry of matching) (entry as { disabled?: boolean }).disabled = disabled;
    return { entries: matching.length > 0 ? entries : undefined, result: matching.length };
  });
}

function idOf(entry: unknown): unknown {
  return typeof entry === 'object' && entry !== null && 'id' in entry ? entry.id : undefined;
}

/**
 * A new token for an existing key id: a new entry with the same id and grants (so the key keeps
 * its jobs, limits and usage), while every older entry of that id expires `overlapMs` from now
 * (or sooner, if it already would), so callers have that long to switch tokens.
 */
export async function rotateKey(
  store: KeyDocumentStore,
  id: string,
  overlapMs: number,
  now = new Date(),
): Promise<{ token: string; entry: KeyEntry; oldUntil: string }> {
  const token = generateToken();
  const oldUntil = new Date(now.getTime() + overlapMs).toISOString();
  return store.change(({ entries, keys }) => {
    const current = keys.filter((key) => key.id === id && !key.disabled);
    const newest = current.at(-1);
    if (newest === undefined) throw new Error(`No usable key with id ${id} in ${store.name}`);
    for (const entry of entries) {
      if (idOf(entry) !== id || typeof entry !== 'object' || entry === null) continue;
      const expiring = entry as { expiresAt?: string };
      if (
        expiring.expiresAt === undefined ||
        Date.parse(expiring.expiresAt) > Date.parse(oldUntil)
      ) {
        expiring.expiresAt = oldUntil;
      }
    }
    const { sha256: _old, createdAt: _created, ...grants } = newest;
    const entry: KeyEntry = { ...grants, sha256: sha256Hex(token), createdAt: now.toISOString() };
    return { entries: [...entries, entry], result: { token, entry, oldUntil } };
  });
}
