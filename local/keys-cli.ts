import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KeyEntry, ParsedKeyStore } from '../functions/auth/key-store.ts';
import { OPERATIONS, type Operation } from '../functions/routes.ts';
import { parseRoutingConfig } from '../functions/routing/routing-config.ts';
import { FileKeyStore } from './keys/file-key-store.ts';
import { createKey, rotateKey, setKeyDisabled } from './keys/key-changes.ts';
import type { KeyDocumentStore } from './keys/key-document-store.ts';
import { SecretKeyStore } from './keys/secret-key-store.ts';
import { DEFAULT_STACK_NAME, stackOutputOf } from './keys/stack-outputs.ts';
import { DEFAULT_KEYS_FILE, DEFAULT_ROUTING_CONFIG } from './local-settings.ts';

const USAGE = `Usage:
  npm run keys -- create --id <id> --surfaces <a,b|*> [--operations run,status,...]
                         [--all-jobs <a,b|*>] [--expires <ISO time>] [--description <text>]
                         [--rate <operation|*>=<per second>[/<burst>],...] [--concurrent <n>]
                         [--in-flight <n>] [--daily-jobs <n>] [--daily-gpu-seconds <n>]
  npm run keys -- rotate --id <id> [--overlap <duration: 30m, 24h, 7d>]
  npm run keys -- list
  npm run keys -- validate
  npm run keys -- disable --id <id>
  npm run keys -- enable --id <id>
Every command takes one store: [--file <path>] (the local store, the default), or the deployed
one: --aws [--stack <name>] (the stack's KeyStoreSecretArn output; default ${DEFAULT_STACK_NAME}), or
--secret <name or ARN>.

The key store holds only SHA-256 digests; the token is printed once, by create.
Without --operations a key may call every operation but purge-queue, which must be named.
--all-jobs lets the key act on every consumer's jobs on those surfaces (operators).
--rate limits the key's requests per operation across all instances (run=5/20: 5 a second,
20 at once; * for every operation not named); over it, callers get 429 rate_limited.
--concurrent caps the key's streams, runsync and status-sync requests at once; --in-flight its
jobs not yet ended; --daily-jobs and --daily-gpu-seconds what it may submit and use per UTC day.
--aws and --secret change the deployed key store in AWS Secrets Manager with your AWS
credentials and region: a change is made to the newest version and made current only if no one
else's change came first (else it is made again on theirs), so concurrent operators never lose
each other's change. The functions pick it up within SECRETS_MAX_AGE_MS (60 s by default).
rotate issues a new token for the same key id (same grants, limits, jobs and usage); the old
token keeps working for --overlap (default 24h), then expires.
--file defaults to $GATEWAY_KEYS_FILE or ${DEFAULT_KEYS_FILE}.
--expires takes an ISO 8601 date-time with a time zone, in the future (2027-06-30T00:00:00Z).
--surfaces and --all-jobs must name surfaces of the routing config ($GATEWAY_CONFIG or
${DEFAULT_ROUTING_CONFIG}), or *.
validate checks every entry of the store (what the gateway would ignore, and why) and exits 1
if any entry is bad; run it before putting a hand-edited store live.`;

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
      concurrent: { type: 'string' },
      'in-flight': { type: 'string' },
      'daily-jobs': { type: 'string' },
      'daily-gpu-seconds': { type: 'string' },
      overlap: { type: 'string', default: '24h' },
      aws: { type: 'boolean', default: false },
      file: { type: 'string' },
      secret: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const store = await storeOf(values);

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
    const { token, entry } = await createKey(store, {
      id: values.id,
      surfaces,
      operations: operations as Operation[] | undefined,
      allJobs: values['all-jobs'] === undefined ? undefined : listOf(values['all-jobs']),
      expiresAt: values.expires === undefined ? undefined : new Date(values.expires).toISOString(),
      description: values.description,
      limits: limitsOf(values),
    });
    console.log(`Created key ${entry.id} in ${store.name}`);
    console.log(`Token (shown once; store it now): ${token}`);
    return;
  }

  if (command === 'rotate') {
    if (!values.id) fail('rotate needs --id');
    const overlapMs = durationMsOf(values.overlap);
    const { token, oldUntil } = await rotateKey(store, values.id, overlapMs).catch(
      (error: unknown) => fail(error instanceof Error ? error.message : String(error)),
    );
    console.log(`Rotated key ${values.id} in ${store.name}; the old token works until ${oldUntil}`);
    console.log(`New token (shown once; store it now): ${token}`);
    return;
  }

  if (command === 'validate') {
    const source = store instanceof SecretKeyStore ? `secret ${store.name}` : store.name;
    const { keys, problems } = await readStore(store);
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
    const { keys, problems } = await readStore(store);
    for (const problem of problems) console.error(`warning: ${problem}`);
    if (keys.length === 0) console.log(`No keys in ${store.name}`);
    for (const key of keys) {
      const state = key.disabled
        ? 'disabled'
        : key.expiresAt && Date.parse(key.expiresAt) <= Date.now()
          ? 'expired'
          : 'active';
      console.log(
        `${key.id}\t${state}\tsurfaces=${key.surfaces.join(',')}\toperations=${key.operations?.join(',') ?? '* but purge-queue'}${key.allJobs ? `\tallJobs=${key.allJobs.join(',')}` : ''}${key.expiresAt ? `\texpires=${key.expiresAt}` : ''}${limitsText(key)}`,
      );
    }
    return;
  }

  if (command === 'disable' || command === 'enable') {
    if (!values.id) fail(`${command} needs --id`);
    const changed = await setKeyDisabled(store, values.id, command === 'disable');
    if (changed === 0) fail(`No key with id ${values.id} in ${store.name}`);
    console.log(`Key ${values.id} ${command}d${changed > 1 ? ` (${changed} entries)` : ''}`);
    return;
  }
  fail(`Unknown command ${command}`);
}

/** The store the options name: the local file, or the deployed secret (by stack or by name). */
async function storeOf(values: {
  file?: string | undefined;
  aws?: boolean | undefined;
  stack?: string | undefined;
  secret?: string | undefined;
}): Promise<KeyDocumentStore> {
  const named = [values.file, values.aws || values.stack ? true : undefined, values.secret];
  if (named.filter((option) => option !== undefined).length > 1) {
    fail('Name one key store: --file, --aws [--stack] or --secret');
  }
  if (values.secret !== undefined) {
    if (values.secret.startsWith('file:') || values.secret.startsWith('env:')) {
      fail('--secret takes a Secrets Manager secret name or ARN');
    }
    return new SecretKeyStore(values.secret);
  }
  if (values.aws || values.stack !== undefined) {
    const stack = values.stack ?? DEFAULT_STACK_NAME;
    try {
      return new SecretKeyStore(await stackOutputOf(stack, 'KeyStoreSecretArn'));
    } catch (error) {
      console.error(
        `Cannot read stack ${stack}'s outputs: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exit(1);
    }
  }
  return new FileKeyStore(values.file ?? process.env.GATEWAY_KEYS_FILE ?? DEFAULT_KEYS_FILE);
}

/** The store's keys; a store that cannot be read ends the command with why. */
async function readStore(store: KeyDocumentStore): Promise<ParsedKeyStore> {
  try {
    return await store.read();
  } catch (error) {
    const what = store instanceof SecretKeyStore ? 'secret' : 'key store';
    console.error(
      `Cannot read ${what} ${store.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}

function limitsText(key: KeyEntry): string {
  const limits = key.limits;
  if (limits === undefined) return '';
  const rates = Object.entries(limits.rate ?? {});
  const parts = [
    rates.length === 0
      ? undefined
      : `rate=${rates.map(([operation, rate]) => `${operation}=${rate?.perSecond}${rate?.burst === undefined ? '' : `/${rate.burst}`}`).join(',')}`,
    limits.concurrent === undefined ? undefined : `concurrent=${limits.concurrent}`,
    limits.inFlight === undefined ? undefined : `inFlight=${limits.inFlight}`,
    limits.daily?.jobs === undefined ? undefined : `dailyJobs=${limits.daily.jobs}`,
    limits.daily?.gpuSeconds === undefined
      ? undefined
      : `dailyGpuSeconds=${limits.daily.gpuSeconds}`,
  ].filter((part) => part !== undefined);
  return parts.map((part) => `\t${part}`).join('');
}

/** The limits options of create, as a key store entry's `limits` (undefined: none given). */
function limitsOf(values: Record<string, string | boolean | undefined>): KeyEntry['limits'] {
  const count = (option: string, max: number): number | undefined => {
    const text = values[option];
    if (typeof text !== 'string') return undefined;
    if (!/^\d+$/.test(text) || Number(text) > max) {
      fail(`--${option} takes a whole number from 0 to ${max}, got "${text}"`);
    }
    return Number(text);
  };
  const concurrent = count('concurrent', 1_000);
  const inFlight = count('in-flight', 100_000);
  const jobs = count('daily-jobs', 100_000_000);
  const gpuSeconds = count('daily-gpu-seconds', 100_000_000);
  if (concurrent === 0) fail('--concurrent must be at least 1');
  if (inFlight === 0) fail('--in-flight must be at least 1');
  const limits = {
    ...(typeof values.rate === 'string' ? { rate: rateOf(values.rate) } : {}),
    ...(concurrent === undefined ? {} : { concurrent }),
    ...(inFlight === undefined ? {} : { inFlight }),
    ...(jobs === undefined && gpuSeconds === undefined
      ? {}
      : {
          daily: {
            ...(jobs === undefined ? {} : { jobs }),
            ...(gpuSeconds === undefined ? {} : { gpuSeconds }),
          },
        }),
  };
  return Object.keys(limits).length === 0 ? undefined : limits;
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
