/**
 * Runs the simulator on its own: `tsx local/simulator/main.ts`.
 * PORT (default 8787) and RUNPOD_API_KEY (default 'sim-key') configure it.
 */
import { startSimulator } from './index.ts';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
}
const apiKey = process.env.RUNPOD_API_KEY ?? 'sim-key';

const simulator = await startSimulator({ port, apiKey, log: (line) => console.log(line) });
// Only the well-known default key is printed; a key from the environment stays out of logs.
const keyHint = process.env.RUNPOD_API_KEY === undefined ? `'${apiKey}'` : 'from RUNPOD_API_KEY';
console.log(`RunPod simulator listening at ${simulator.baseUrl} (API key ${keyHint})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    simulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
