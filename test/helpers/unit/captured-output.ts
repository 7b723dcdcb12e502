import { vi } from 'vitest';

export interface CapturedOutput {
  /** Everything written to stdout and stderr since capture began. */
  text(): string;
  /** The lines written, each parsed as JSON (the logger writes one JSON object per line). */
  records(): Record<string, unknown>[];
  restore(): void;
}

/**
 * Captures what the process writes to stdout and stderr (the logger writes there, not through
 * the global console) and keeps it out of the test run's output.
 */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const record = (chunk: unknown): boolean => {
    chunks.push(chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(record);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(record);
  const text = () => chunks.join('');
  return {
    text,
    records: () =>
      text()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}
