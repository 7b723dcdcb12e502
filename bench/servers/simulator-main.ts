import { startSimulator } from '../../local/simulator/index.ts';

/**
 * The RunPod simulator in its own process for the bench (SIM_API_KEY, SIM_WORKERS per endpoint):
 * prints its base URL, and answers
 * `{ id, type: 'stats' }` messages on the IPC channel with `stats()` (chunk times, request counts).
 */
const simulator = await startSimulator({
  apiKey: process.env.SIM_API_KEY ?? 'sim-key',
  ...(process.env.SIM_WORKERS ? { workers: Number(process.env.SIM_WORKERS) } : {}),
  // A faulty upstream: empty /stream polls answered at once, whatever `wait` asks.
  ...(process.env.SIM_IGNORE_STREAM_WAIT === '1'
    ? { ignoreStreamWait: true, streamHoldMs: 0 }
    : {}),
});
process.on('message', (message: { id: number; type: string }) => {
  if (message.type === 'stats') process.send?.({ id: message.id, stats: simulator.stats() });
});
console.log(`simulator listening at ${simulator.baseUrl}`);
process.once('SIGTERM', () => {
  simulator.close().finally(() => process.exit(0));
});
