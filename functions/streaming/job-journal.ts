import { type JournalPage, lastSeqOf, type StreamJournal } from '../ledger/stream-journal.ts';
import { crypto } from '../runtime/builtins.ts';

/** Reading grows from one page per call (following live) to BatchGetItem's 100 (replaying). */
const MAX_READ_PAGES = 100;
/** How many jobs' journal positions a warm instance remembers (see `positions`). */
const REMEMBERED_JOBS = 1_000;

/**
 * Where each job's journal ended when this instance last saw it. A JSON poller (RunPod's SDKs)
 * calls again and again, usually on the same warm instance: starting from here, it finds the
 * next free page in one read instead of reading the journal from its start.
 */
const positions = new Map<string, { page: number; seq: number }>();

function remember(jobId: string, page: number, seq: number): void {
  positions.delete(jobId);
  positions.set(jobId, { page, seq });
  if (positions.size > REMEMBERED_JOBS) {
    const oldest = positions.keys().next().value;
    if (oldest !== undefined) positions.delete(oldest);
  }
}

/**
 * One job's journal as a reader and writer sees it: a cursor over its pages (the next page to
 * read or write, the next chunk's sequence number), moved by reading and appending.
 */
export class JobJournal {
  readonly jobId: string;
  readonly #journal: StreamJournal;
  readonly #expiresAt: number;
  #nextPage = 1;
  #nextSeq = 1;
  #status: string | undefined;
  #end: Readonly<Record<string, unknown>> | undefined;

  constructor(options: {
    journal: StreamJournal;
    jobId: string;
    /** The job record's expiry (epoch s): the journal goes with it. */
    expiresAt: number;
    /** Start from where this instance last saw the journal end (a writer that reads nothing). */
    fromRememberedPosition?: boolean;
  }) {
    this.jobId = options.jobId;
    this.#journal = options.journal;
    this.#expiresAt = options.expiresAt;
    const known = options.fromRememberedPosition ? positions.get(options.jobId) : undefined;
    if (known !== undefined) {
      this.#nextPage = known.page;
      this.#nextSeq = known.seq;
    }
  }

  /** Sequence number of the last chunk read or written (0 before the first). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** The status on the last page read or written. */
  get status(): string | undefined {
    return this.#status;
  }

  /** The `done` data, once the journal's last page has been read or written. */
  get end(): Readonly<Record<string, unknown>> | undefined {
    return this.#end;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  /**
   * Reads the pages written since the cursor, up to `limit` of them (a replay goes in batches so
   * a long journal is never held in memory at once); an empty answer means the cursor is at the
   * end.
   */
  async readNext(limit = MAX_READ_PAGES): Promise<JournalPage[]> {
    const pages: JournalPage[] = [];
    let batch = 1;
    while (pages.length < limit) {
      const read = await this.#journal.read(
        this.jobId,
        this.#nextPage,
        Math.min(batch, limit - pages.length),
      );
      for (const page of read) this.#advance(page);
      pages.push(...read);
      if (read.length < batch || this.#end !== undefined) break;
      batch = Math.min(batch * 4, MAX_READ_PAGES);
    }
    return pages;
  }

  /**
   * Appends one page after the journal's end. A page another writer took first is read, and
   * this one goes after it: the answer is every page that became known, in order (others' first,
   * this one last), so the caller can send all of them.
   */
  async append(
    chunks: readonly string[],
    status: string,
    end?: Readonly<Record<string, unknown>>,
  ): Promise<JournalPage[]> {
    const known: JournalPage[] = [];
    for (;;) {
      const page: JournalPage = {
        page: this.#nextPage,
        first: this.#nextSeq,
        chunks,
        status,
        end,
      };
      if (await this.#journal.write(this.jobId, page, this.#expiresAt)) {
        this.#advance(page);
        known.push(page);
        return known;
      }
      known.push(...(await this.readNext()));
      // Another writer saw the job end first: nothing can come after its last page.
      if (this.#end !== undefined) return known;
    }
  }

  #advance(page: JournalPage): void {
    this.#nextPage = page.page + 1;
    this.#nextSeq = lastSeqOf(page) + 1;
    this.#status = page.status;
    if (page.end !== undefined) this.#end = page.end;
    remember(this.jobId, this.#nextPage, this.#nextSeq);
  }
}

/**
 * The lease that makes one relay at a time poll RunPod for a job's SSE viewers. It is renewed
 * before a poll whenever less than one held poll (plus a margin) of it is left, so a live holder
 * never loses it mid-poll; a holder that dies loses it `leaseMs` after its last renewal, and a
 * follower takes over. At the job's end the holder keeps it until the record expires: later
 * viewers find the lease taken and replay the journal without asking RunPod.
 */
export class StreamLease {
  readonly holder = crypto.randomUUID();
  readonly #journal: StreamJournal;
  readonly #jobId: string;
  readonly #expiresAt: number;
  readonly #leaseMs: number;
  readonly #renewBeforeMs: number;
  #until = 0;

  constructor(options: {
    journal: StreamJournal;
    jobId: string;
    expiresAt: number;
    leaseMs: number;
    pollWaitMs: number;
  }) {
    this.#journal = options.journal;
    this.#jobId = options.jobId;
    this.#expiresAt = options.expiresAt;
    this.#renewBeforeMs = options.pollWaitMs + 1_000;
    this.#leaseMs = Math.max(options.leaseMs, 2 * this.#renewBeforeMs);
  }

  get held(): boolean {
    return this.#until > Date.now();
  }

  /**
   * Takes the lease, or renews it when due; false while another relay holds it. A relay that does
   * not hold it reads it first and writes only to take a free or expired one: followers checking
   * on a live relay cost a read, not a failed conditional write.
   */
  async hold(): Promise<boolean> {
    const now = Date.now();
    if (this.#until - now > this.#renewBeforeMs) return true;
    if (this.#until === 0) {
      const current = await this.#journal.leaseOf(this.#jobId);
      if (current !== undefined && current.holder !== this.holder && current.untilMs >= now) {
        return false;
      }
    }
    const until = now + this.#leaseMs;
    if (!(await this.#journal.lease(this.#jobId, this.holder, until, this.#expiresAt))) {
      this.#until = 0;
      return false;
    }
    this.#until = until;
    return true;
  }

  /** The job ended and its journal is complete: nobody needs to poll RunPod for it again. */
  async keepForGood(): Promise<void> {
    this.#until = 0;
    await closeJournal(this.#journal, this.#jobId, this.#expiresAt, this.holder);
  }

  /** This relay stops before the job's end: the next viewer may take over at once. */
  async release(): Promise<void> {
    this.#until = 0;
    await this.#journal.release(this.#jobId, this.holder);
  }
}

/**
 * Marks a job's journal complete by taking its lease until the record expires, so a later SSE
 * viewer replays it instead of asking RunPod (which forgets a finished job's output after 30
 * minutes). Fails quietly when a relay holds the lease: that relay closes the journal itself.
 */
export async function closeJournal(
  journal: StreamJournal,
  jobId: string,
  expiresAt: number,
  holder = 'journal-complete',
): Promise<void> {
  await journal.lease(jobId, holder, expiresAt * 1000, expiresAt);
}
