/**
 * Every timer the simulator arms goes through one `TimerSet`, so `close()` can clear them all and
 * none of them keeps the process alive (they are unref'd: the HTTP server is what keeps a
 * standalone simulator running, and tests exit as soon as they are done).
 */

/** Node turns longer delays into 1 ms (with a warning); clamp instead. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class TimerSet {
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  /** Runs `callback` once after `delayMs`; returns a handle for {@link TimerSet.cancel}. */
  after(delayMs: number, callback: () => void): NodeJS.Timeout {
    const delay = Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, delay);
    timer.unref();
    if (this.#closed) clearTimeout(timer);
    else this.#timers.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Clears every pending timer; later `after()` calls arm nothing. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
