import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/auth/key-store.ts';
import { startCloudFormation } from '../helpers/cloudformation-emulator.ts';
import { startSecretsManager } from '../helpers/lambda/secrets-manager-emulator.ts';
import { TEST_ROUTING } from '../helpers/test-routing.ts';

/** `npm run keys` as an operator runs it: the CLI in its own process on a key file. */
const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'local', 'keys-cli.ts');
const TSX = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');

let dir: string;
let keysFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keys-cli-'));
  keysFile = join(dir, 'keys.json');
  await writeFile(join(dir, 'routing.json'), JSON.stringify(TEST_ROUTING));
});

async function keys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args, '--file', keysFile], {
      env: { ...process.env, GATEWAY_CONFIG: join(dir, 'routing.json') },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function stored(): Promise<{ id: string; disabled?: boolean }[]> {
  return (JSON.parse(await readFile(keysFile, 'utf8')) as { keys: { id: string }[] }).keys;
}

describe('npm run keys', () => {
  it('keeps every key when six creates run at once', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((letter) => `team-${letter}`);

    const results = await Promise.all(
      ids.map((id) => keys('create', '--id', id, '--surfaces', 'chat')),
    );

    expect(results.map((result) => result.code)).toEqual(ids.map(() => 0));
    expect((await stored()).map((key) => key.id).sort()).toEqual(ids);
  }, 60_000);

  it.each([
    ['a bare number', '1'],
    ['words V8 would take as a date', 'tomorrow 3'],
    ['a date without a time', '2030-01-01'],
    ['a time in the past', '2001-01-01T00:00:00Z'],
  ])('refuses --expires given %s', async (_case, expires) => {
    const result = await keys('create', '--id', 'x', '--surfaces', 'chat', '--expires', expires);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--expires must be/);
  });

  it('refuses a surface the routing config does not have, naming the ones it has', async () => {
    const result = await keys('create', '--id', 'x', '--surfaces', 'chta');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does not have: chta');
    expect(result.stderr).toContain('chat, images, modelsonly');
  });

  it('disables every entry of an id, not only the first', async () => {
    await writeFile(
      keysFile,
      JSON.stringify({
        keys: [
          { id: 'twice', sha256: sha256Hex('rpg_one'), surfaces: ['chat'] },
          { id: 'twice', sha256: sha256Hex('rpg_two'), surfaces: ['chat'] },
        ],
      }),
    );

    const result = await keys('disable', '--id', 'twice');

    expect(result.code).toBe(0);
    expect((await stored()).map((key) => key.disabled)).toEqual([true, true]);
  });

  it('validates a store: names what the gateway would ignore and exits 1; list still lists the rest', async () => {
    await writeFile(
      keysFile,
      JSON.stringify({
        keys: [
          { id: 'fine', sha256: sha256Hex('rpg_fine'), surfaces: ['chat'], team: 'platform' },
          { id: 'typo', sha256: 'not-hex', surfaces: ['chat'] },
        ],
      }),
    );

    const validated = await keys('validate');
    const listed = await keys('list');

    expect(validated.code).toBe(1);
    expect(validated.stderr).toContain(
      'keys.1 (id typo) is ignored: keys.1.sha256: has an invalid format',
    );
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('fine\tactive');
    expect(listed.stderr).toContain('warning: keys.1 (id typo)');
  });

  it('validates the deployed store in Secrets Manager with --secret, as the functions read it', async () => {
    const secretsManager = await startSecretsManager();
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-keys-AbCdEf';
    const validate = async (secret: string) => {
      try {
        const { stdout, stderr } = await run(TSX, [CLI, 'validate', '--secret', secret], {
          env: {
            ...process.env,
            GATEWAY_CONFIG: join(dir, 'routing.json'),
            AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
          },
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        return error as { code: number; stdout: string; stderr: string };
      }
    };
    try {
      secretsManager.putSecret(
        arn,
        JSON.stringify({
          keys: [
            { id: 'fine', sha256: sha256Hex('rpg_fine'), surfaces: ['chat'] },
            { id: 'typo', sha256: 'not-hex', surfaces: ['chat'] },
          ],
        }),
      );
      const bad = await validate(arn);
      secretsManager.putSecret(
        arn,
        JSON.stringify({
          keys: [{ id: 'fine', sha256: sha256Hex('rpg_fine'), surfaces: ['chat'] }],
        }),
      );
      const good = await validate(arn);
      const missing = await validate(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf',
      );

      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('keys.1 (id typo) is ignored');
      expect(good.code).toBe(0);
      expect(good.stdout).toContain(`secret ${arn}: valid, 1 key`);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Cannot read secret');
    } finally {
      await secretsManager.close();
    }
  }, 60_000);

  it('creates a key with request rates, lists them, and refuses a malformed one', async () => {
    const created = await keys(
      'create',
      '--id',
      'rated',
      '--surfaces',
      'chat',
      '--rate',
      'run=5/20,*=10',
    );
    const refused = await keys('create', '--id', 'typo', '--surfaces', 'chat', '--rate', 'runn=5');
    const listed = await keys('list');

    expect(created.code).toBe(0);
    expect((await stored())[0]).toMatchObject({
      id: 'rated',
      limits: { rate: { run: { perSecond: 5, burst: 20 }, '*': { perSecond: 10 } } },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      '--rate takes <operation|*>=<per second>[/<burst>], got "runn=5"',
    );
    expect(listed.stdout).toContain('rate=run=5/20,*=10');
    expect((await stored()).map((key) => key.id)).toEqual(['rated']);
  });

  it('rotates a key: a second entry of the same id and grants, the old one expiring after the overlap', async () => {
    await keys('create', '--id', 'team-r', '--surfaces', 'chat', '--rate', 'run=2');
    const before = Date.now();
    const rotated = await keys('rotate', '--id', 'team-r', '--overlap', '1h');
    const unknown = await keys('rotate', '--id', 'nobody');
    const entries = (await stored()) as { id: string; expiresAt?: string; limits?: unknown }[];

    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/New token \(shown once; store it now\): rpg_/);
    expect(entries.map((entry) => entry.id)).toEqual(['team-r', 'team-r']);
    const oldUntil = Date.parse(entries[0]?.expiresAt ?? '');
    expect(oldUntil - before).toBeGreaterThan(3_590_000);
    expect(oldUntil - before).toBeLessThan(3_700_000);
    expect(entries[1]?.expiresAt).toBeUndefined();
    expect(entries[1]?.limits).toEqual({ rate: { run: { perSecond: 2 } } });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No usable key with id nobody');
  });

  it('keeps a bad entry and unknown fields when it rewrites the file', async () => {
    await writeFile(
      keysFile,
      JSON.stringify({
        keys: [{ id: 'typo', sha256: 'not-hex', surfaces: ['chat'], team: 'platform' }],
      }),
    );

    await keys('create', '--id', 'new', '--surfaces', 'chat');

    expect(await stored()).toEqual([
      { id: 'typo', sha256: 'not-hex', surfaces: ['chat'], team: 'platform' },
      expect.objectContaining({ id: 'new' }),
    ]);
  });

  describe('on the deployed key store (--aws --stack)', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gw-keys-AbCdEf';

    async function deployed() {
      const secretsManager = await startSecretsManager();
      const cloudFormation = await startCloudFormation();
      secretsManager.putSecret(arn, JSON.stringify({ keys: [] }));
      cloudFormation.addStack('TeamGateway', { KeyStoreSecretArn: arn, ApiUrl: 'https://x' });
      const env = {
        ...process.env,
        GATEWAY_CONFIG: join(dir, 'routing.json'),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
        AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      };
      const cli = async (...args: string[]) => {
        try {
          const { stdout, stderr } = await run(TSX, [CLI, ...args], { env });
          return { code: 0, stdout, stderr };
        } catch (error) {
          return error as { code: number; stdout: string; stderr: string };
        }
      };
      const keysIn = () =>
        (JSON.parse(secretsManager.valueOf(arn) ?? '{}') as { keys: { id: string }[] }).keys;
      const close = async () => {
        await secretsManager.close();
        await cloudFormation.close();
      };
      return { secretsManager, cli, keysIn, close };
    }

    it('keeps every key when five operators create keys at once', async () => {
      const { cli, keysIn, secretsManager, close } = await deployed();
      try {
        const ids = ['a', 'b', 'c', 'd', 'e'].map((letter) => `svc-${letter}`);
        const results = await Promise.all(
          ids.map((id) =>
            cli('create', '--aws', '--stack', 'TeamGateway', '--id', id, '--surfaces', 'chat'),
          ),
        );

        expect(results.map((result) => result.stderr)).toEqual(ids.map(() => ''));
        expect(results.map((result) => result.code)).toEqual(ids.map(() => 0));
        expect(
          keysIn()
            .map((key) => key.id)
            .sort(),
        ).toEqual(ids);
        // Some writes lost the race to make their version current, and were made again.
        const puts = secretsManager.requests.filter((t) => t.endsWith('.PutSecretValue'));
        expect(puts.length).toBeGreaterThanOrEqual(ids.length);
        for (const result of results) {
          expect(result.stdout).toContain(`in ${arn}`);
          expect(result.stdout).toMatch(/Token \(shown once; store it now\): rpg_/);
        }
      } finally {
        await close();
      }
    }, 60_000);

    it('lists, disables, rotates and validates the deployed keys; names a missing stack', async () => {
      const { cli, keysIn, close } = await deployed();
      try {
        const created = await cli(
          'create',
          '--aws',
          '--stack',
          'TeamGateway',
          '--id',
          'svc',
          '--surfaces',
          'chat',
          '--in-flight',
          '10',
          '--daily-gpu-seconds',
          '3600',
        );
        const token = /rpg_\S+/.exec(created.stdout)?.[0] ?? '';
        const rotated = await cli(
          'rotate',
          '--aws',
          '--stack',
          'TeamGateway',
          '--id',
          'svc',
          '--overlap',
          '1h',
        );
        const disabled = await cli('disable', '--secret', arn, '--id', 'svc');
        const listed = await cli('list', '--aws', '--stack', 'TeamGateway');
        const valid = await cli('validate', '--aws', '--stack', 'TeamGateway');
        const missing = await cli('list', '--aws', '--stack', 'NoSuchStack');
        const both = await cli('list', '--aws', '--file', keysFile);

        const stored = keysIn() as {
          id: string;
          sha256: string;
          disabled?: boolean;
          expiresAt?: string;
        }[];
        expect(stored).toHaveLength(2);
        expect(stored[0]?.sha256).toBe(sha256Hex(token));
        expect(stored.every((key) => key.disabled)).toBe(true);
        expect(Date.parse(stored[0]?.expiresAt ?? '') - Date.now()).toBeLessThanOrEqual(3_600_000);
        expect(rotated.stdout).toContain(`Rotated key svc in ${arn}`);
        expect(disabled.stdout).toContain('Key svc disabled (2 entries)');
        expect(listed.stdout).toMatch(
          /svc\tdisabled\tsurfaces=chat.*\tinFlight=10\tdailyGpuSeconds=3600/,
        );
        expect(valid.stdout).toContain(`secret ${arn}: valid, 2 keys`);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("Cannot read stack NoSuchStack's outputs");
        expect(missing.stderr).toContain('does not exist');
        expect(both.code).toBe(2);
        expect(both.stderr).toContain('Name one key store');
      } finally {
        await close();
      }
    }, 60_000);
  });
});
