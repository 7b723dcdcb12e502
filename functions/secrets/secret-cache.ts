import { GatewayError } from '../http/gateway-error.ts';
import { logger } from '../observability/logger.ts';
import type { SecretLoader } from './secret-source.ts';

/** How long a stale value is served before the next refresh attempt. */
const STALE_RETRY_MS = 30_000;

interface Entry<T> {
  value?: T;
  fetchedAt: number;
  refreshing?: Promise<T>;
}

export interface SecretCacheOptions<T> {
  readonly load: SecretLoader;
  /** Turns the secret's text into the value served; a throw counts as a failed refresh. */
  readonly parse: (text: string) => T;
  readonly maxAgeMs: number;
  /** What the secret is, for logs and errors (never its value). */
  readonly description: string;
  readonly now?: () => number;
}

/**
 * Secrets cached per execution environment for at most `maxAgeMs`, so rotation takes effect
 * without a redeploy. A failed refresh keeps serving the last good value (with a warning);
 * with no value at all the request fails with 503 `secrets_unavailable`. Concurrent callers
 * share one refresh.
 */
export class SecretCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #options: SecretCacheOptions<T>;
  readonly #now: () => number;

  constructor(options: SecretCacheOptions<T>) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async get(reference: string): Promise<T> {
    const entry = this.#entries.get(reference);
    if (entry?.value !== undefined && this.#now() - entry.fetchedAt < this.#options.maxAgeMs) {
      return entry.value;
    }
    return this.#refresh(reference, entry);
  }

  #refresh(reference: string, existing: Entry<T> | undefined): Promise<T> {
    const entry: Entry<T> = existing ?? { fetchedAt: 0 };
    this.#entries.set(reference, entry);
    entry.refreshing ??= this.#fetch(reference, entry).finally(() => {
      entry.refreshing = undefined;
    });
    return entry.refreshing;
  }

  async #fetch(reference: string, entry: Entry<T>): Promise<T> {
    try {
      const value = this.#options.parse(await this.#options.load(reference));
      entry.value = value;
      entry.fetchedAt = this.#now();
      return value;
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown error';
      if (entry.value !== undefined) {
        // Try again after a short pause rather than on every request during an outage.
        entry.fetchedAt = this.#now() - this.#options.maxAgeMs + STALE_RETRY_MS;
        logger.warn('secret refresh failed; serving the cached value', {
          secret: this.#options.description,
          reason,
        });
        return entry.value;
      }
      logger.error('secret unavailable', { secret: this.#options.description, reason });
      throw new GatewayError(
        'secrets_unavailable',
        `The gateway could not read its ${this.#options.description}; try again shortly`,
        { headers: { 'Retry-After': '5' }, cause: error },
      );
    }
  }
}
