import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import { DynamoDbStreamJournal } from '../../functions/ledger/dynamodb-stream-journal.ts';
import type { JournalPage } from '../../functions/ledger/stream-journal.ts';
import { JobJournal, StreamLease } from '../../functions/streaming/job-journal.ts';
import { LEDGER_ENGINES, startEngineWithTable } from '../helpers/ledger-engines.ts';

/** The stream journal's store on both engines: pages, conflicts, large pages and the lease. */
const TABLE = 'journal-test';
const EXPIRES_AT = Math.ceil(Date.now() / 1000) + 3600;

function pageOf(
  overrides: Partial<JournalPage> & Pick<JournalPage, 'page' | 'first'>,
): JournalPage {
  return { chunks: ['"a"'], status: 'IN_PROGRESS', ...overrides };
}

describe.each(LEDGER_ENGINES)('the stream journal on $name', ({ start }) => {
  let engine: { endpoint: string; close(): Promise<void> };
  let journal: DynamoDbStreamJournal;

  beforeAll(async () => {
    engine = await startEngineWithTable(start, TABLE);
    const ledger = new DynamoDbJobLedger({ tableName: TABLE, endpoint: engine.endpoint });
    journal = new DynamoDbStreamJournal({ tableName: TABLE, access: () => ledger.access() });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  it('writes a page once: a second writer of the same page is told it lost', async () => {
    const jobId = randomUUID();
    expect(await journal.write(jobId, pageOf({ page: 1, first: 1 }), EXPIRES_AT)).toBe(true);
    expect(
      await journal.write(jobId, pageOf({ page: 1, first: 1, chunks: ['"b"'] }), EXPIRES_AT),
    ).toBe(false);
    expect(await journal.read(jobId, 1, 10)).toEqual([
      { page: 1, first: 1, chunks: ['"a"'], status: 'IN_PROGRESS', end: undefined },
    ]);
  });

  it('reads pages in order up to the first missing one', async () => {
    const jobId = randomUUID();
    await journal.write(jobId, pageOf({ page: 1, first: 1, chunks: ['1', '2'] }), EXPIRES_AT);
    await journal.write(jobId, pageOf({ page: 2, first: 3, chunks: [] }), EXPIRES_AT);
    await journal.write(jobId, pageOf({ page: 4, first: 9 }), EXPIRES_AT);

    const pages = await journal.read(jobId, 1, 100);
    expect(pages.map((page) => [page.page, page.first, page.chunks])).toEqual([
      [1, 1, ['1', '2']],
      [2, 3, []],
    ]);
  });

  it('keeps a page of several 1 MB chunks across items and gives it back whole', async () => {
    const jobId = randomUUID();
    const chunks = [0, 1, 2].map((index) => JSON.stringify(`${index}${'é'.repeat(500_000)}`));
    const end = { id: jobId, status: 'COMPLETED', executionTime: 12 };
    await journal.write(
      jobId,
      pageOf({ page: 1, first: 1, chunks, status: 'COMPLETED', end }),
      EXPIRES_AT,
    );

    expect(await journal.read(jobId, 1, 1)).toEqual([
      { page: 1, first: 1, chunks, status: 'COMPLETED', end },
    ]);
  });

  it('lets one relay hold the lease until it expires or is released', async () => {
    const jobId = randomUUID();
    const now = Date.now();
    expect(await journal.lease(jobId, 'relay-a', now + 60_000, EXPIRES_AT)).toBe(true);
    expect(await journal.lease(jobId, 'relay-b', now + 60_000, EXPIRES_AT)).toBe(false);
    // Renewing one's own lease works.
    expect(await journal.lease(jobId, 'relay-a', now + 90_000, EXPIRES_AT)).toBe(true);
    await journal.release(jobId, 'relay-b');
    expect(await journal.lease(jobId, 'relay-b', now + 60_000, EXPIRES_AT)).toBe(false);
    await journal.release(jobId, 'relay-a');
    expect(await journal.lease(jobId, 'relay-b', now + 60_000, EXPIRES_AT)).toBe(true);

    const expired = randomUUID();
    expect(await journal.lease(expired, 'relay-a', Date.now() - 1, EXPIRES_AT)).toBe(true);
    expect(await journal.lease(expired, 'relay-b', Date.now() + 60_000, EXPIRES_AT)).toBe(true);
  });

  it('numbers chunks across writers: a writer that lost a page appends after it', async () => {
    const jobId = randomUUID();
    const sse = new JobJournal({ journal, jobId, expiresAt: EXPIRES_AT });
    const json = new JobJournal({ journal, jobId, expiresAt: EXPIRES_AT });
    await json.append(['"j1"', '"j2"'], 'IN_PROGRESS');
    const known = await sse.append(['"s1"'], 'IN_PROGRESS');

    expect(known.map((page) => [page.page, page.first, page.chunks])).toEqual([
      [1, 1, ['"j1"', '"j2"']],
      [2, 3, ['"s1"']],
    ]);
    expect(sse.lastSeq).toBe(3);
  });

  it('stops a writer that finds the job already ended by another', async () => {
    const jobId = randomUUID();
    const first = new JobJournal({ journal, jobId, expiresAt: EXPIRES_AT });
    const late = new JobJournal({ journal, jobId, expiresAt: EXPIRES_AT });
    await first.append(['"x"'], 'COMPLETED', { id: jobId, status: 'COMPLETED' });
    const known = await late.append([], 'COMPLETED', { id: jobId, status: 'COMPLETED' });

    expect(known).toHaveLength(1);
    expect(late.end).toEqual({ id: jobId, status: 'COMPLETED' });
    expect(await journal.read(jobId, 1, 10)).toHaveLength(1);
  });

  it('renews a held lease only when due, and keeps an ended job’s lease for good', async () => {
    const jobId = randomUUID();
    const lease = new StreamLease({
      journal,
      jobId,
      expiresAt: EXPIRES_AT,
      leaseMs: 60_000,
      pollWaitMs: 1_000,
    });
    const rival = new StreamLease({
      journal,
      jobId,
      expiresAt: EXPIRES_AT,
      leaseMs: 60_000,
      pollWaitMs: 1_000,
    });
    expect(await lease.hold()).toBe(true);
    expect(await rival.hold()).toBe(false);
    await lease.keepForGood();
    expect(lease.held).toBe(false);
    expect(await rival.hold()).toBe(false);
  });
});
