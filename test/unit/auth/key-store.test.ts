import { describe, expect, it } from 'vitest';
import {
  grantsAllJobs,
  grantsOperation,
  grantsSurface,
  type KeyEntry,
  KeyStore,
  sha256Hex,
} from '../../../functions/auth/key-store.ts';
import { caught } from '../../helpers/unit/caught.ts';

const TOKEN = 'rpg_0123456789abcdef0123456789abcdef';
const NOW = new Date('2026-06-01T12:00:00.000Z');

function entry(overrides: Partial<KeyEntry> = {}): KeyEntry {
  return { id: 'consumer-1', sha256: sha256Hex(TOKEN), surfaces: ['chat'], ...overrides };
}

function storeOf(...keys: KeyEntry[]): KeyStore {
  return KeyStore.parse(JSON.stringify({ keys }));
}

describe('KeyStore.parse', () => {
  /** Parses a store of one entry; what the store says about it. */
  function problemsOf(candidate: Record<string, unknown>): readonly string[] {
    return KeyStore.parse(JSON.stringify({ keys: [candidate] })).problems;
  }

  it.each([
    [{ surfaces: 'chat' }, 'keys.0 (id team-a) is ignored: keys.0.surfaces: must be an array'],
    [{ disabled: 'yes' }, 'keys.0 (id team-a) is ignored: keys.0.disabled: must be a boolean'],
  ])('ignores an entry with a field of the wrong type, saying which (%j)', (override, problem) => {
    const candidate = { id: 'team-a', sha256: sha256Hex(TOKEN), surfaces: ['chat'], ...override };
    expect(problemsOf(candidate)).toEqual([problem]);
  });

  it('keeps serving every other key when one entry is bad', () => {
    // Prepare
    const text = JSON.stringify({
      keys: [
        { id: 'broken', sha256: 'not-a-digest', surfaces: ['chat'] },
        { id: 'team-b', sha256: sha256Hex(TOKEN), surfaces: ['chat'] },
      ],
    });

    // Act
    const store = KeyStore.parse(text);

    // Assess
    expect(store.find(TOKEN, NOW)?.id).toBe('team-b');
    expect(store.problems).toEqual([
      'keys.0 (id broken) is ignored: keys.0.sha256: has an invalid format',
    ]);
  });

  it('parses a valid key store and finds a key by its token', () => {
    // Prepare
    const text = JSON.stringify({
      keys: [
        {
          id: 'team.a_1',
          sha256: sha256Hex(TOKEN),
          surfaces: ['chat', 'images'],
          operations: ['run', 'status'],
          expiresAt: '2027-01-01T00:00:00Z',
          disabled: false,
          description: 'Team A',
          createdAt: '2026-01-01T00:00:00+02:00',
        },
      ],
    });

    // Act
    const found = KeyStore.parse(text).find(TOKEN, NOW);

    // Assess
    expect(found).toMatchObject({ id: 'team.a_1', surfaces: ['chat', 'images'] });
  });

  it('parses an empty key store', () => {
    expect(KeyStore.parse('{"keys":[]}').find(TOKEN, NOW)).toBeUndefined();
  });

  it('rejects text that is not JSON without echoing the text', () => {
    // Prepare
    const text = `{"keys":[{"id":"leak","sha256":"${sha256Hex(TOKEN)}", ${TOKEN}`;

    // Act
    const error = caught(() => KeyStore.parse(text), Error);

    // Assess
    expect(error.message).toBe('Key store is not valid JSON');
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('leak');
  });

  it('rejects a document without "keys"', () => {
    expect(caught(() => KeyStore.parse('{}'), Error).message).toBe(
      'Invalid key store: keys: is required',
    );
  });

  it('tolerates fields it does not know, in entries and around them', () => {
    const text = JSON.stringify({ version: 2, keys: [{ ...entry(), team: 'platform' }] });

    const store = KeyStore.parse(text);

    expect(store.problems).toEqual([]);
    expect(store.find(TOKEN, NOW)).toMatchObject({ id: 'consumer-1', team: 'platform' });
  });

  it('accepts an uppercase hex digest', () => {
    const store = storeOf(entry({ sha256: sha256Hex(TOKEN).toUpperCase() }));
    expect(store.find(TOKEN, NOW)?.id).toBe('consumer-1');
  });

  it('ignores a digest of the wrong length', () => {
    expect(problemsOf(entry({ sha256: 'ab'.repeat(31) }))).toEqual([
      'keys.0 (id consumer-1) is ignored: keys.0.sha256: has an invalid format',
    ]);
  });

  it('ignores a key with an empty surface list', () => {
    expect(problemsOf(entry({ surfaces: [] }))[0]).toMatch(
      /^keys\.0 \(id consumer-1\) is ignored: keys\.0\.surfaces: must have at least 1 /,
    );
  });

  it('ignores an operation that does not exist, listing the valid ones', () => {
    const [problem] = problemsOf({ ...entry(), operations: ['delete'] });
    expect(problem).toMatch(/keys\.0\.operations\.0: must be one of "run", /);
    expect(problem).toContain('"purge-queue"');
  });

  it('ignores an expiry that is not an ISO date-time', () => {
    expect(problemsOf({ ...entry(), expiresAt: 'next tuesday' })).toEqual([
      'keys.0 (id consumer-1) is ignored: keys.0.expiresAt: must be a valid datetime',
    ]);
  });

  it('ignores an id with characters outside its charset, without repeating it', () => {
    expect(problemsOf(entry({ id: 'a b' }))).toEqual([
      'keys.0 is ignored: keys.0.id: has an invalid format',
    ]);
  });
});

describe('KeyStore.find', () => {
  it('returns undefined for a token that is not in the store', () => {
    expect(storeOf(entry()).find('rpg_someone-else', NOW)).toBeUndefined();
  });

  it('returns undefined for a token whose digest would only match case-insensitively', () => {
    expect(storeOf(entry()).find(TOKEN.toUpperCase(), NOW)).toBeUndefined();
  });

  it('returns undefined for a disabled key', () => {
    expect(storeOf(entry({ disabled: true })).find(TOKEN, NOW)).toBeUndefined();
  });

  it('returns the key when disabled is false', () => {
    expect(storeOf(entry({ disabled: false })).find(TOKEN, NOW)?.id).toBe('consumer-1');
  });

  it('returns undefined for a key that expired before now', () => {
    expect(storeOf(entry({ expiresAt: '2026-06-01T11:59:59Z' })).find(TOKEN, NOW)).toBeUndefined();
  });

  it('returns undefined for a key expiring exactly now', () => {
    expect(storeOf(entry({ expiresAt: NOW.toISOString() })).find(TOKEN, NOW)).toBeUndefined();
  });

  it('compares the expiry with its offset applied', () => {
    // 13:30+02:00 is 11:30Z, before NOW (12:00Z).
    expect(
      storeOf(entry({ expiresAt: '2026-06-01T13:30:00+02:00' })).find(TOKEN, NOW),
    ).toBeUndefined();
  });

  it('returns the key when it has not expired yet', () => {
    expect(storeOf(entry({ expiresAt: '2026-06-01T12:00:01Z' })).find(TOKEN, NOW)?.id).toBe(
      'consumer-1',
    );
  });

  it('returns the matching key among several', () => {
    // Prepare
    const other = entry({ id: 'other', sha256: sha256Hex('rpg_other') });

    // Act + Assess
    expect(storeOf(other, entry()).find('rpg_other', NOW)?.id).toBe('other');
    expect(storeOf(other, entry()).find(TOKEN, NOW)?.id).toBe('consumer-1');
  });
});

describe('key grants', () => {
  it('grants every surface to a "*" key', () => {
    const key = entry({ surfaces: ['*'] });
    expect(grantsSurface(key, 'chat')).toBe(true);
    expect(grantsSurface(key, 'anything-else')).toBe(true);
  });

  it('grants only the listed surfaces', () => {
    const key = entry({ surfaces: ['chat', 'images'] });
    expect(grantsSurface(key, 'chat')).toBe(true);
    expect(grantsSurface(key, 'images')).toBe(true);
    expect(grantsSurface(key, 'embeddings')).toBe(false);
  });

  it('does not treat a surface name as a pattern', () => {
    expect(grantsSurface(entry({ surfaces: ['chat'] }), 'cha')).toBe(false);
    expect(grantsSurface(entry({ surfaces: ['chat'] }), '*')).toBe(false);
  });

  it('grants every operation but purge-queue when operations is absent', () => {
    const key = entry();
    expect(grantsOperation(key, 'run')).toBe(true);
    expect(grantsOperation(key, 'status-sync')).toBe(true);
    expect(grantsOperation(key, 'purge-queue')).toBe(false);
  });

  it('grants purge-queue to a key that names it', () => {
    expect(grantsOperation(entry({ operations: ['purge-queue'] }), 'purge-queue')).toBe(true);
  });

  it('grants other consumers\u2019 jobs only on the surfaces allJobs names', () => {
    expect(grantsAllJobs(entry(), 'chat')).toBe(false);
    expect(grantsAllJobs(entry({ allJobs: ['chat'] }), 'chat')).toBe(true);
    expect(grantsAllJobs(entry({ allJobs: ['chat'] }), 'images')).toBe(false);
    expect(grantsAllJobs(entry({ allJobs: ['*'] }), 'images')).toBe(true);
  });

  it('grants only the listed subset of operations', () => {
    const key = entry({ operations: ['status', 'stream'] });
    expect(grantsOperation(key, 'status')).toBe(true);
    expect(grantsOperation(key, 'stream')).toBe(true);
    expect(grantsOperation(key, 'run')).toBe(false);
    expect(grantsOperation(key, 'cancel')).toBe(false);
  });

  it('grants no operation when operations is an empty list', () => {
    expect(grantsOperation(entry({ operations: [] }), 'health')).toBe(false);
  });
});
