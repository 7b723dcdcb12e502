import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalHttpServer,
  reply,
  startLocalHttpServer,
} from '../../helpers/unit/local-http-server.ts';

const run = promisify(execFile);
const CLIENT = join(import.meta.dirname, '../../../functions/runpod/client.ts');

/** One RunPod call from a fresh process (the pools read the environment when they are created). */
async function callFromProcess(env: Record<string, string>): Promise<string> {
  const script = `
    import { RunPodClient } from ${JSON.stringify(CLIENT)};
    const answer = await new RunPodClient('http://runpod.invalid/v2').send({
      endpointId: 'abc123endpoint', path: 'health', method: 'GET', apiKey: 'k', timeoutMs: 5000,
    });
    console.log(answer.text);`;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { env: { ...process.env, ...env }, timeout: 20_000 },
  );
  return stdout.trim();
}

describe('egress proxy', () => {
  let proxy: LocalHttpServer;

  beforeAll(async () => {
    proxy = await startLocalHttpServer((_request, response) =>
      reply(response, 200, '{"via":"proxy"}'),
    );
  });

  afterAll(async () => {
    await proxy.close();
  });

  it('sends RunPod calls through HTTP_PROXY when NODE_USE_ENV_PROXY=1, as fetch would', async () => {
    // Act
    const text = await callFromProcess({ NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxy.baseUrl });

    // Assess: the proxy got the request in absolute form, for RunPod's host
    expect(text).toBe('{"via":"proxy"}');
    expect(proxy.requests.at(-1)?.url).toBe('http://runpod.invalid/v2/abc123endpoint/health');
  }, 30_000);

  it('ignores HTTP_PROXY without NODE_USE_ENV_PROXY', async () => {
    // Act + Assess: straight to the (unresolvable) host
    await expect(callFromProcess({ HTTP_PROXY: proxy.baseUrl })).rejects.toThrow(
      /RunPod could not be reached/,
    );
  }, 30_000);
});
