/**
 * Order statistics for noisy measurements. Percentiles use the nearest-rank method on a sorted
 * copy (no interpolation), so a p99 is always a value that was actually observed.
 */

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile, `p` in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const ordered = sorted(values);
  const rank = Math.ceil((p / 100) * ordered.length);
  return ordered[Math.min(ordered.length - 1, Math.max(0, rank - 1))] as number;
}

/** The median; for an even count the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2 === 1
    ? (ordered[middle] as number)
    : ((ordered[middle - 1] as number) + (ordered[middle] as number)) / 2;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let total = 0;
  for (const value of values) total += value;
  return total / values.length;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    return {
      n: 0,
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
      mean: Number.NaN,
      min: Number.NaN,
      max: Number.NaN,
    };
  }
  const ordered = sorted(values);
  const at = (p: number) =>
    ordered[
      Math.min(ordered.length - 1, Math.max(0, Math.ceil((p / 100) * ordered.length) - 1))
    ] as number;
  return {
    n: ordered.length,
    p50: median(ordered),
    p90: at(90),
    p99: at(99),
    mean: mean(ordered),
    min: ordered[0] as number,
    max: ordered[ordered.length - 1] as number,
  };
}

/** `ours / baseline`, NaN when the baseline is 0 or missing. */
export function ratio(ours: number, baseline: number): number {
  return baseline === 0 || !Number.isFinite(baseline) ? Number.NaN : ours / baseline;
}

/** Rounds for the report: keeps results.json readable and diffs small. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Median of per-pair differences `ours[i] − baseline[i]`: with alternating runs (ABAB) each
 * pair shares the machine's state at that moment, so drift on a shared machine cancels out.
 */
export function medianPairedDelta(ours: readonly number[], baseline: readonly number[]): number {
  const count = Math.min(ours.length, baseline.length);
  const deltas: number[] = [];
  for (let index = 0; index < count; index++)
    deltas.push((ours[index] as number) - (baseline[index] as number));
  return median(deltas);
}
