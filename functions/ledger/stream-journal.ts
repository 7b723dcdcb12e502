/**
 * The stream journal: every chunk of a job's output the gateway drains from RunPod's `/stream`,
 * kept in the deployment's own table until the job's record expires, so a viewer can resume
 * (`Last-Event-ID`), replay a finished job, or follow another viewer's relay.
 *
 * The journal is a sequence of pages, numbered from 1 without gaps: one page per upstream poll
 * that brought chunks or a change of status. A page is written once, conditionally, so two
 * writers (an SSE relay and a JSON poller, or two relays) never take the same page: the loser
 * reads the winner's page and writes its own after it. Chunk sequence numbers (the SSE `id:`)
 * follow from the pages, so they are stable across responses.
 * `dynamodb-stream-journal.ts` keeps it in DynamoDB.
 */

import { LedgerUnavailableError } from './job-ledger.ts';

export interface JournalPage {
  /** 1, 2, 3, …: the page's place in the journal. */
  readonly page: number;
  /** Sequence number of the page's first chunk (1-based); chunks are numbered on from it. */
  readonly first: number;
  /** Each chunk's output as JSON text, as SSE `data:` carries it. */
  readonly chunks: readonly string[];
  /** The job's status when the page was written. */
  readonly status: string;
  /** On the last page: the `done` event's data (final status and RunPod's timing fields). */
  readonly end?: Readonly<Record<string, unknown>> | undefined;
}

export interface StreamJournal {
  /**
   * Pages `from`, `from + 1`, … as far as they exist, at most `max` of them, read consistently.
   */
  read(jobId: string, from: number, max: number): Promise<JournalPage[]>;
  /** Writes a page unless it exists; false when another writer took that page first. */
  write(jobId: string, page: JournalPage, expiresAt: number): Promise<boolean>;
  /**
   * Takes the job's relay lease, or renews it, until `untilMs`; false while another relay holds
   * an unexpired one. Only the lease holder polls RunPod for SSE viewers.
   */
  lease(jobId: string, holder: string, untilMs: number, expiresAt: number): Promise<boolean>;
  /** Who holds the job's relay lease and until when (epoch ms), read consistently; undefined if nobody. */
  leaseOf(jobId: string): Promise<{ holder: string; untilMs: number } | undefined>;
  /** Gives the lease up (when this relay stops before the job ends), if it is still held. */
  release(jobId: string, holder: string): Promise<void>;
}

/** The journal could not be read or written: the ledger's table is unavailable. */
export class JournalUnavailableError extends LedgerUnavailableError {
  override name = 'JournalUnavailableError';
}

export function lastSeqOf(page: JournalPage): number {
  return page.first + page.chunks.length - 1;
}
