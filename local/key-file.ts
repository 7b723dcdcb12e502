import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type KeyEntry,
  parseKeyStoreDocument,
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
    createdAt: now.toISOString(),
  };
}

export async function readKeyFile(path: string): Promise<KeyEntry[]> {
  if (!existsSync(path)) return [];
  return parseKeyStoreDocument(await readFile(path, 'utf8')).keys;
}

/** Writes atomically (temp file + rename) so a running gateway never reads half a file. */
export async function writeKeyFile(path: string, keys: readonly KeyEntry[]): Promise<void> {
  const document = `${JSON.stringify({ keys }, null, 2)}\n`;
  parseKeyStoreDocument(document);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, document, { mode: 0o600 });
  await rename(temporary, path);
}

/** Adds a key to the file and returns its token, which exists nowhere else afterwards. */
export async function createKey(
  path: string,
  key: NewKey,
): Promise<{ token: string; entry: KeyEntry }> {
  const keys = await readKeyFile(path);
  if (keys.some((existing) => existing.id === key.id)) {
    throw new Error(`A key with id ${key.id} already exists in ${path}`);
  }
  const token = generateToken();
  const entry = keyEntryOf(key, token);
  await writeKeyFile(path, [...keys, entry]);
  return { token, entry };
}
