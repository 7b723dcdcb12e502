import { type KeyEntry, parseKeyStore } from '../../functions/auth/key-store.ts';

/** A key store document as written: every entry as it stands, and the usable ones with the problems of the rest. */
export interface KeyDocument {
  /** Every entry, as in the document (bad ones included: a rewrite must not drop them). */
  readonly entries: unknown[];
  readonly keys: KeyEntry[];
  readonly problems: string[];
}

/** What a change does: the entries to write (none: nothing to write) and what to return. */
export interface KeyChange<T> {
  readonly entries?: readonly unknown[];
  readonly result: T;
}

/**
 * Where a key store lives: the local file `npm start` reads, or the deployed secret. Every
 * change is applied to the newest document and written so that two operators changing the store
 * at once never lose each other's change (a lock for the file, compare-and-swap for the secret);
 * `apply` may run more than once and must read only the document it is given.
 */
export interface KeyDocumentStore {
  /** How messages name the store: its file, or the secret's ARN. */
  readonly name: string;
  read(): Promise<KeyDocument>;
  change<T>(apply: (document: KeyDocument) => KeyChange<T>): Promise<T>;
}

/** A key store document's text, read as the functions read it, keeping every entry for a rewrite. */
export function keyDocumentOf(text: string | undefined): KeyDocument {
  if (text === undefined) return { entries: [], keys: [], problems: [] };
  const { keys, problems } = parseKeyStore(text);
  const entries = (JSON.parse(text) as { keys: unknown[] }).keys;
  return { entries, keys, problems };
}

export function keyDocumentText(entries: readonly unknown[]): string {
  return `${JSON.stringify({ keys: entries }, null, 2)}\n`;
}
