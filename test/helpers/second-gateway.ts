import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATIONS } from '../../functions/routes.ts';
import { FileKeyStore } from '../../local/keys/file-key-store.ts';
import { createKey, type NewKey } from '../../local/keys/key-changes.ts';
import type { GatewayFixture } from './local-gateway-fixture.ts';
import { TEST_ROUTING } from './test-routing.ts';

export interface SecondGateway {
  readonly base: string;
  readonly token: string;
  kill(): void;
}

/**
 * Another gateway process on the same simulator and ledger (another Lambda instance, in effect),
 * with its own key file holding a key of the same id, so it may act on the fixture's jobs.
 */
export async function startSecondGateway(
  first: GatewayFixture,
  settings: Record<string, string>,
  key: NewKey = { id: 'test-all', surfaces: ['*'], operations: [...OPERATIONS] },
): Promise<SecondGateway> {
  const simulator = first.gateway.simulator;
  if (!simulator) throw new Error('the fixture runs the embedded simulator');
  const dir = await mkdtemp(join(tmpdir(), 'gateway-second-'));
  const routing = join(dir, 'routing.json');
  const keys = join(dir, 'keys.json');
  await writeFile(routing, JSON.stringify(TEST_ROUTING));
  const { token } = await createKey(new FileKeyStore(keys), key);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(process.cwd(), 'local/main.ts')],
    {
      env: {
        ...process.env,
        ...settings,
        PORT: '0',
        GATEWAY_CONFIG: routing,
        GATEWAY_KEYS_FILE: keys,
        RUNPOD_BASE_URL: simulator.baseUrl,
        RUNPOD_API_KEY: simulator.apiKey,
        DYNAMODB_ENDPOINT: first.gateway.ledger.endpoint,
        LEDGER_TABLE: first.gateway.ledger.tableName,
        LOG_LEVEL: 'SILENT',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`second gateway did not start:\n${output}`)),
      20_000,
    );
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`second gateway exited (${code}):\n${output}`)));
  });
  return {
    base: `${url}/v1/runpod`,
    token,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
