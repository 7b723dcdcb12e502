import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type KeyEntry, type ParsedKeyStore, parseKeyStore } from '../functions/auth/key-store.ts';
import { OPERATIONS, type Operation } from '../functions/routes.ts';
import { parseRoutingConfig } from '../functions/routing/routing-config.ts';
import { loadSecretText } from '../functions/secrets/secret-source.ts';
import { createKey, readKeyStoreFile, rotateKey, setKeyDisabled } from './key-file.ts';
import { DEFAULT_KEYS_FILE, DEFAULT_ROUTING_CONFIG } from './local-settings.ts';

const USAGE = `Usage:
  npm run keys -- create --id <id> --surfaces <a,b|*> [--operations run,status,...]
                         [--all-jobs <a,b|*>] [--expires <ISO time>] [--description <text>]
                         [--rate <operation|*>=<per second>[/<burst>],...]
                         [--aws] [--file <path>]
  npm run keys -- rotate --id <id> [--overlap <duration: 30m, 24h, 7d>] [--file <path>]
  npm run keys -- list [--file <path>]
  npm run keys -- validate [--file <path> | --secret <name or ARN>]
  npm run keys -- disable --id <id> [--file <path>]
  npm run keys -- enable --id <id> [--file <path>]

The key store holds only SHA-256 digests; the token is printed once, by create.
Without --operations a key may call every operation but purge-queue, which must be named.
--all-jobs lets the key act on every consumer's jobs on those surfaces (operators).
--rate limits the key's requests per operation across all instances (run=5/20: 5 a second,
20 at once; * for every operation not named); over it, callers get 429 rate_limited.
--aws also prints the entry to add to the deployed key-store secret's "keys" array.
rotate issues a new token for the same key id (same grants, limits, jobs and usage); the old
token keeps working for --overlap (default 24h), then expires.
--file defaults to $GATEWAY_KEYS_FILE or ${DEFAULT_KEYS_FILE}.
--expires takes an ISO 8601 date-time with a time zone, in the future (2027-06-30T00:00:00Z).
--surfaces and --all-jobs must name surfaces of the routing config ($GATEWAY_CONFIG or
${DEFAULT_ROUTING_CONFIG}), or *.
validate checks every entry of the store (what the gateway would ignore, and why) and exits 1
if any entry is bad; run it before putting a hand-edited store live. With --secret it reads the
deployed key store from AWS Secrets Manager (the stack's KeyStoreSecretArn output) with your AWS
credentials and region, as the functions do.`;

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
      rate: { type: 'string' },
      overlap: { type: 'string', default: '24h' },
      aws: { type: 'boolean', default: false },
      file: { type: 'string' },
      secret: { type: 'string' },
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
    if (values.expires !== undefined) checkExpiry(values.expires);
    checkSurfaces('--surfaces', surfaces);
    if (values['all-jobs'] !== undefined) checkSurfaces('--all-jobs', listOf(values['all-jobs']));
    const { token, entry } = await createKey(file, {
      id: values.id,
      surfaces,
      operations: operations as Operation[] | undefined,
      allJobs: values['all-jobs'] === undefined ? undefined : listOf(values['all-jobs']),
      expiresAt: values.expires === undefined ? undefined : new Date(values.expires).toISOString(),
      description: values.description,
      limits: values.rate === undefined ? undefined : { rate: rateOf(values.rate) },
    });
    console.log(`Created key ${entry.id} in ${file}`);
    console.log(`Token (shown once; store it now): ${token}`);
    if (values.aws) {
      console.log('\nAdd this entry to the "keys" array of the key-store secret in AWS:');
      console.log(JSON.stringify(entry, null, 2));
    }
    return;
  }

  if (command === 'rotate') {
    if (!values.id) fail('rotate needs --id');
    const overlapMs = durationMsOf(values.overlap);
    const { token, oldUntil } = await rotateKey(file, values.id, overlapMs).catch(
      (error: unknown) => fail(error instanceof Error ? error.message : String(error)),
    );
    console.log(`Rotated key ${values.id} in ${file}; the old token works until ${oldUntil}`);
    console.log(`New token (shown once; store it now): ${token}`);
    return;
  }

  if (command === 'validate') {
    const source = values.secret === undefined ? file : `secret ${values.secret}`;
    const { keys, problems } =
      values.secret === undefined
        ? await readKeyStoreFile(file)
        : await readDeployedKeyStore(values.secret);
    for (const problem of problems) console.error(problem);
    if (problems.length > 0) {
      console.error(
        `${source}: ${problems.length} entr${problems.length === 1 ? 'y' : 'ies'} the gateway would ignore`,
      );
      process.exit(1);
    }
    console.log(`${source}: valid, ${keys.length} key${keys.length === 1 ? '' : 's'}`);
    return;
  }

  if (command === 'list') {
    const { keys, problems } = await readKeyStoreFile(file);
    for (const problem of problems) console.error(`warning: ${problem}`);
    if (keys.length === 0) console.log(`No keys in ${file}`);
    for (const key of keys) {
      const state = key.disabled
        ? 'disabled'
        : key.expiresAt && Date.parse(key.expiresAt) <= Date.now()
          ? 'expired'
          : 'active';
      console.log(
        `${key.id}\t${state}\tsurfaces=${key.surfaces.join(',')}\toperations=${key.operations?.join(',') ?? '* but purge-queue'}${key.allJobs ? `\tallJobs=${key.allJobs.join(',')}` : ''}${key.expiresAt ? `\texpires=${key.expiresAt}` : ''}${rateText(key)}`,
      );
    }
    return;
  }

  if (command === 'disable' || command === 'enable') {
    if (!values.id) fail(`${command} needs --id`);
    const changed = await setKeyDisabled(file, values.id, command === 'disable');
    if (changed === 0) fail(`No key with id ${values.id} in ${file}`);
    console.log(`Key ${values.id} ${command}d${changed > 1 ? ` (${changed} entries)` : ''}`);
    return;
  }
  fail(`Unknown command ${command}`);
}

/** The deployed key store, read from Secrets Manager by the functions' own loader and parser. */
async function readDeployedKeyStore(secret: string): Promise<ParsedKeyStore> {
  if (secret.startsWith('file:') || secret.startsWith('env:')) {
    fail('--secret takes a Secrets Manager secret name or ARN');
  }
  let text: string;
  try {
    text = await loadSecretText(secret);
  } catch (error) {
    console.error(
      `Cannot read secret ${secret}: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  return parseKeyStore(text);
}

function rateText(key: KeyEntry): string {
  const rates = Object.entries(key.limits?.rate ?? {});
  if (rates.length === 0) return '';
  return `\trate=${rates.map(([operation, rate]) => `${operation}=${rate?.perSecond}${rate?.burst === undefined ? '' : `/${rate.burst}`}`).join(',')}`;
}

/** `30s`, `30m`, `24h`, `7d` (or `0`: at once). */
function durationMsOf(text: string): number {
  const match = /^(\d+)([smhd])?$/.exec(text);
  if (!match) fail(`--overlap takes a duration such as 30m, 24h or 7d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's'] ?? 1_000;
  return Number(match[1]) * unit;
}

/** `run=5/20,*=10`: per-second rates, with an optional burst, by operation. */
function rateOf(value: string): Record<string, { perSecond: number; burst?: number }> {
  const rates: Record<string, { perSecond: number; burst?: number }> = {};
  for (const item of listOf(value)) {
    const match = /^([a-z*-]+)=(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(item);
    const [, operation = '', perSecond = '', burst] = match ?? [];
    if (!match || (operation !== '*' && !(OPERATIONS as readonly string[]).includes(operation))) {
      fail(`--rate takes <operation|*>=<per second>[/<burst>], got "${item}"`);
    }
    const rate = Number(perSecond);
    if (!(rate > 0 && rate <= 1000))
      fail(`--rate: ${operation}'s rate must be above 0 and at most 1000 a second`);
    rates[operation] =
      burst === undefined ? { perSecond: rate } : { perSecond: rate, burst: Number(burst) };
  }
  return rates;
}

/** ISO 8601 with a time and a zone, as the key store takes it, and in the future. */
function checkExpiry(value: string): void {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  const at = Date.parse(value);
  if (!iso.test(value) || Number.isNaN(at)) {
    fail(
      `--expires must be an ISO 8601 date-time with a time zone, e.g. 2027-06-30T00:00:00Z; got ${value}`,
    );
  }
  if (at <= Date.now()) fail(`--expires must be in the future; ${value} has passed`);
}

/** Surfaces must exist in the routing config, so a typo does not create a key for nothing. */
function checkSurfaces(option: string, surfaces: readonly string[]): void {
  const path = process.env.GATEWAY_CONFIG ?? DEFAULT_ROUTING_CONFIG;
  let known: string[];
  try {
    known = Object.keys(parseRoutingConfig(JSON.parse(readFileSync(path, 'utf8'))).surfaces);
  } catch (error) {
    fail(
      `Cannot read the routing config ${path} to check ${option}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const unknown = surfaces.filter((surface) => surface !== '*' && !known.includes(surface));
  if (unknown.length > 0) {
    fail(
      `${option} names surfaces the routing config (${path}) does not have: ${unknown.join(', ')} (it has: ${known.join(', ')})`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
