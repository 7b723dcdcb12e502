import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const run = promisify(execFile);

/**
 * DynamoDB Local, AWS's own engine, for checking what the embedded engine (dynalite) does not
 * implement. Its jar ships inside the npm package `amplify-dynamodb-simulator`; the tarball is
 * fetched from the npm registry with `npm pack` on first use (never installed: its dependencies
 * are hundreds of packages) and unpacked under node_modules/.cache. It needs Java 17.
 */
const PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const CACHE = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'dynamodb-local');
const EMULATOR = join(CACHE, '2.9.30', 'package', 'emulator');

async function emulatorDirectory(): Promise<string> {
  if (existsSync(join(EMULATOR, 'DynamoDBLocal.jar'))) return EMULATOR;
  await mkdir(CACHE, { recursive: true });
  // Unpacked aside and renamed into place, so test files starting at once never see half a jar.
  const staging = await mkdtemp(join(CACHE, 'staging-'));
  try {
    const { stdout } = await run('npm', ['pack', PACKAGE, '--pack-destination', staging], {
      cwd: staging,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = join(staging, stdout.trim().split('\n').at(-1) ?? '');
    await run('tar', ['-xzf', tarball, '-C', staging, 'package/emulator']);
    await mkdir(join(CACHE, '2.9.30'), { recursive: true });
    await rename(join(staging, 'package'), join(CACHE, '2.9.30', 'package')).catch((error) => {
      if (!existsSync(join(EMULATOR, 'DynamoDBLocal.jar'))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return EMULATOR;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const directory = await emulatorDirectory();
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${join(directory, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(directory, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    // It writes a metadata file into its working directory: keep that out of the repository.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: tmpdir() },
  );
  let stderr = '';
  child.stderr?.on('data', (part: Buffer) => {
    stderr += part.toString('utf8');
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`DynamoDB Local needs Java 17 on PATH: ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (${code}): ${stderr}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const ready = (async () => {
    for (let attempt = 0; attempt < 150; attempt++) {
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${stderr}`);
  })();
  try {
    await Promise.race([ready, exited]);
  } finally {
    client.destroy();
  }
  exited.catch(() => undefined);
  return {
    endpoint,
    close: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
