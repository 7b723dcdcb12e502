/**
 * CloudWatch's embedded metric format: one JSON object whose `_aws` member tells CloudWatch Logs
 * which root members are metrics (with their units) and which are dimensions, so a log line
 * becomes metrics with no API call. Written here rather than through Powertools Metrics, which
 * the bench measured at +15 KB per bundle (past the 150 KB budget for `run` and `runsync`) and
 * about +10 ms of cold start (docs/decisions.md, "Metrics").
 */

export type MetricUnit = 'Count' | 'Milliseconds';

export interface EmfRecord {
  readonly namespace: string;
  /** Each set is a list of dimension names, every one a member of `dimensions`. */
  readonly dimensionSets: readonly (readonly string[])[];
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: ReadonlyMap<string, { readonly unit: MetricUnit; readonly value: number }>;
  /** Further members, searchable in the log but not metrics (ids: never dimensions). */
  readonly properties: Readonly<Record<string, string | number | undefined>>;
  /** Epoch ms. */
  readonly timestamp: number;
}

/** The record as one EMF line (without the newline). */
export function emfLineOf(record: EmfRecord): string {
  const root: Record<string, unknown> = {
    _aws: {
      Timestamp: record.timestamp,
      CloudWatchMetrics: [
        {
          Namespace: record.namespace,
          Dimensions: record.dimensionSets,
          Metrics: [...record.metrics].map(([name, { unit }]) => ({ Name: name, Unit: unit })),
        },
      ],
    },
  };
  for (const [name, value] of Object.entries(record.properties)) {
    if (value !== undefined) root[name] = value;
  }
  Object.assign(root, record.dimensions);
  for (const [name, { value }] of record.metrics) root[name] = value;
  return JSON.stringify(root);
}
