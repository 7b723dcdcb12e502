import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type KeyEntry,
  parseKeyStore,
  sha256Hex,
  TOKEN_PREFIX,
} from '../functions/auth/key-store.ts';
import type { Operation } from '../functions/routes.ts';

export interface NewKey {
  readonly id: string;
  readonly surfaces: readonly string[];
  readonly operations?: readonly Operation[];
  /** Surfaces on which the key may act on every consumer's jobs (operators). */
  readonly allJobs?: readonly string[];
  readonly expiresAt?: string;
  readonly description?: string;
  /** The key's own limits (request rates by operation). */
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

/** A key store file as written: every entry as it stands, and the usable ones with the problems of the rest. */
export interface KeyFile {
  /** Every entry, as in the file (bad ones included: a rewrite must not drop them). */
  readonly entries: unknown[];
  readonly keys: KeyEntry[];
  readonly problems: string[];
}

export async function readKeyStoreFile(path: string): Promise<KeyFile> {
  if (!existsSync(path)) return { entries: [], keys: [], problems: [] };
  const text = await readFile(path, 'utf8');
  const { keys, problems } = parseKeyStore(text);
  const entries = (JSON.parse(text) as { keys: unknown[] }).keys;
  return { entries, keys, problems };
}

/** The usable keys of a key store file. */
export async function readKeyFile(path: string): Promise<KeyEntry[]> {
  return (await readKeyStoreFile(path)).keys;
}

/** Writes atomically (temp file + rename) so a running gateway never reads half a file. */
export async function writeKeyFile(path: string, entries: readonly unknown[]): Promise<void> {
  const document = `${JSON.stringify({ keys: entries }, null, 2)}\n`;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, document, { mode: 0o600 });
  await rename(temporary, path);
}

const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a process that died; it is taken over. */
const STALE_LOCK_MS = 30_000;

/**
 * Runs `change` holding an exclusive lock file beside the key store, so that concurrent runs of
 * the key CLI (or `npm start` creating its first key) never lose each other's writes: each reads
 * the file after the previous one wrote it.
 */
export async function withKeyFileLock<T>(path: string, change: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) await rm(lock, { force: true });
      else if (Date.now() - started > LOCK_WAIT_MS) {
        throw new Error(`${path} is locked by another process (${lock}); try again`);
      } else await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
  try {
    return await change();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Adds a key to the file and returns its token, which exists nowhere else afterwards. */
export async function createKey(
  path: string,
  key: NewKey,
): Promise<{ token: string; entry: KeyEntry }> {
  return withKeyFileLock(path, async () => {
    const { entries } = await readKeyStoreFile(path);
    if (entries.some((existing) => idOf(existing) === key.id)) {
      throw new Error(`A key with id ${key.id} already exists in ${path}`);
    }
    const token = generateToken();
    const entry = keyEntryOf(key, token);
    await writeKeyFile(path, [...entries, entry]);
    return { token, entry };
  });
}

/** Sets `disabled` on every entry with this id; how many there were. */
export async function setKeyDisabled(path: string, id: string, disabled: boolean): Promise<number> {
  return withKeyFileLock(path, async () => {
    const { entries } = await readKeyStoreFile(path);
    const matching = entries.filter((entry) => idOf(entry) === id);
    for (const entry of matching) (entry as { disabled?: boolean }).disabled = disabled;
    if (matching.length > 0) await writeKeyFile(path, entries);
    return matching.length;
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
  path: string,
  id: string,
  overlapMs: number,
  now = new Date(),
): Promise<{ token: string; entry: KeyEntry; oldUntil: string }> {
  return withKeyFileLock(path, async () => {
    const { entries, keys } = await readKeyStoreFile(path);
    const current = keys.filter((key) => key.id === id && !key.disabled);
    const newest = current.at(-1);
    if (newest === undefined) throw new Error(`No usable key with id ${id} in ${path}`);
    const oldUntil = new Date(now.getTime() + overlapMs).toISOString();
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
    const token = generateToken();
    const { sha256: _old, createdAt: _created, ...grants } = newest;
    const entry: KeyEntry = { ...grants, sha256: sha256Hex(token), createdAt: now.toISOString() };
    await writeKeyFile(path, [...entries, entry]);
    return { token, entry, oldUntil };
  });
}
