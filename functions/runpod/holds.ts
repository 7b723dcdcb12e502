/**
 * How long RunPod holds a request open (`?wait=`), and how long the gateway lets it.
 * `runsync`, `status-sync` and `stream` take `wait`; RunPod accepts 1 000–300 000 ms.
 */

/** RunPod holds `/runsync` and `/status-sync` this long when no `wait` is given. */
export const RUNPOD_DEFAULT_SYNC_WAIT_MS = 90_000;
/** RunPod holds an empty `/stream` poll this long when no `wait` is given. */
export const RUNPOD_DEFAULT_STREAM_HOLD_MS = 10_000;

/**
 * API Gateway drops a streamed response that sends nothing for 5 minutes, and a held request
 * writes nothing until RunPod answers. Holding RunPod at most 290 s keeps the answer inside that
 * window; a job that outlives it comes back non-terminal, as RunPod's own answer does when a job
 * outlives `wait`.
 */
export const MAX_HOLD_MS = 290_000;

/**
 * The `wait` sent to RunPod (undefined: none, RunPod's default applies) and how long the call may
 * be held (what the upstream timeout is added to).
 */
export function holdOf(
  wait: number | undefined,
  runpodDefaultMs: number,
): { readonly query: { wait: string } | undefined; readonly holdMs: number } {
  if (wait === undefined) return { query: undefined, holdMs: runpodDefaultMs };
  const held = Math.min(wait, MAX_HOLD_MS);
  return { query: { wait: String(held) }, holdMs: held };
}
