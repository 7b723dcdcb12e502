import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type KeyChange,
  type KeyDocument,
  type KeyDocumentStore,
  keyDocumentOf,
  keyDocumentText,
} from './key-document-store.ts';

const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a process that died; it is taken over. */
const STALE_LOCK_MS = 30_000;

/**
 * The local key store file (`npm start`'s). Changes hold an exclusive lock file beside it, so
 * concurrent runs of the key CLI (or `npm start` creating its first key) each read the file after
 * the previous one wrote it; writes are atomic (temp file + rename), so a running gateway never
 * reads half a file.
 */
export class FileKeyStore implements KeyDocumentStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  get name(): string {
    return this.path;
  }

  async read(): Promise<KeyDocument> {
    return keyDocumentOf(existsSync(this.path) ? await readFile(this.path, 'utf8') : undefined);
  }

  async change<T>(apply: (document: KeyDocument) => KeyChange<T>): Promise<T> {
    return this.#locked(async () => {
      const { entries, result } = apply(await this.read());
      if (entries !== undefined) await this.#write(entries);
      return result;
    });
  }

  async #write(entries: readonly unknown[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, keyDocumentText(entries), { mode: 0o600 });
    await rename(temporary, this.path);
  }

  async #locked<T>(change: () => Promise<T>): Promise<T> {
    const lock = `${this.path}.lock`;
    await mkdir(dirname(this.path), { recursive: true });
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
          throw new Error(`${this.path} is locked by another process (${lock}); try again`);
        } else await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
      }
    }
    try {
      return await change();
    } finally {
      await rm(lock, { force: true });
    }
  }
}
