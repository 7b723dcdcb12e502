import { parseArgs } from 'node:util';
import { OPERATIONS, type Operation } from '../functions/routes.ts';
import { createKey, readKeyFile, writeKeyFile } from './key-file.ts';
import { DEFAULT_KEYS_FILE } from './local-settings.ts';

const USAGE = `Usage:
  npm run keys -- create --id <id> --surfaces <a,b|*> [--operations run,status,...]
                         [--all-jobs <a,b|*>] [--expires <ISO time>] [--description <text>]
                         [--aws] [--file <path>]
  npm run keys -- list [--file <path>]
  npm run keys -- disable --id <id> [--file <path>]
  npm run keys -- enable --id <id> [--file <path>]

The key store holds only SHA-256 digests; the token is printed once, by create.
Without --operations a key may call every operation but purge-queue, which must be named.
--all-jobs lets the key act on every consumer's jobs on those surfaces (operators).
--aws also prints the entry to add to the deployed key-store secret's "keys" array.
--file defaults to $GATEWAY_KEYS_FILE or ${DEFAULT_KEYS_FILE}.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      surfaces: { type: 'string' },
      operations: { type: 'string' },
      'all-jobs': { type: 'string' },
      expires: { type: 'string' },
      description: { type: 'string' },
      aws: { type: 'boolean', default: false },
      file: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  const file = values.file ?? process.env.GATEWAY_KEYS_FILE ?? DEFAULT_KEYS_FILE;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }

  if (command === 'create') {
    if (!values.id) fail('create needs --id');
    const surfaces = listOf(values.surfaces);
    if (surfaces.length === 0) fail('create needs --surfaces (a comma-separated list, or *)');
    const operations = values.operations === undefined ? undefined : listOf(values.operations);
    const unknown = operations?.filter(
      (operation) => !(OPERATIONS as readonly string[]).includes(operation),
    );
    if (unknown?.length)
      fail(`Unknown operations: ${unknown.join(', ')} (allowed: ${OPERATIONS.join(', ')})`);
    if (values.expires !== undefined && Number.isNaN(Date.parse(values.expires))) {
      fail(`--expires must be an ISO 8601 time, got ${values.expires}`);
    }
    const { token, entry } = await createKey(file, {
      id: values.id,
      surfaces,
      operations: operations as Operation[] | undefined,
      allJobs: values['all-jobs'] === undefined ? undefined : listOf(values['all-jobs']),
      expiresAt: values.expires === undefined ? undefined : new Date(values.expires).toISOString(),
      description: values.description,
    });
    console.log(`Created key ${entry.id} in ${file}`);
    console.log(`Token (shown once; store it now): ${token}`);
    if (values.aws) {
      console.log('\nAdd this entry to the "keys" array of the key-store secret in AWS:');
      console.log(JSON.stringify(entry, null, 2));
    }
    return;
  }

  if (command === 'list') {
    const keys = await readKeyFile(file);
    if (keys.length === 0) console.log(`No keys in ${file}`);
    for (const key of keys) {
      const state = key.disabled
        ? 'disabled'
        : key.expiresAt && Date.parse(key.expiresAt) <= Date.now()
          ? 'expired'
          : 'active';
      console.log(
        `${key.id}\t${state}\tsurfaces=${key.surfaces.join(',')}\toperations=${key.operations?.join(',') ?? '* but purge-queue'}${key.allJobs ? `\tallJobs=${key.allJobs.join(',')}` : ''}${key.expiresAt ? `\texpires=${key.expiresAt}` : ''}`,
      );
    }
    return;
  }

  if (command === 'disable' || command === 'enable') {
    if (!values.id) fail(`${command} needs --id`);
    const keys = await readKeyFile(file);
    const key = keys.find((candidate) => candidate.id === values.id);
    if (!key) fail(`No key with id ${values.id} in ${file}`);
    key.disabled = command === 'disable';
    await writeKeyFile(file, keys);
    console.log(`Key ${key.id} ${command}d`);
    return;
  }
  fail(`Unknown command ${command}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
