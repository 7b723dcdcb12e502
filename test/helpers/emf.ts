/**
 * CloudWatch embedded metric format lines, read back from a function's output and checked against
 * the format's specification: a root `_aws` with a millisecond `Timestamp` and `CloudWatchMetrics`
 * directives, each naming a namespace, dimension sets whose every name is a root string member,
 * and metrics whose every name is a root number (or array of numbers) member.
 */
export interface EmfLine {
  readonly namespace: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly units: Readonly<Record<string, string | undefined>>;
  readonly root: Readonly<Record<string, unknown>>;
}

export function emfLinesOf(output: string): EmfLine[] {
  const lines: EmfLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.includes('"_aws"')) continue;
    const start = text.indexOf('{');
    lines.push(parseEmf(JSON.parse(text.slice(start)) as Record<string, unknown>));
  }
  return lines;
}

/** One EMF document, checked; throws naming what breaks the specification. */
export function parseEmf(root: Record<string, unknown>): EmfLine {
  const aws = root._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (typeof aws?.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp)) {
    throw new Error('_aws.Timestamp must be epoch milliseconds');
  }
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length !== 1) {
    throw new Error('_aws.CloudWatchMetrics must hold the one directive the gateway writes');
  }
  const directive = directives[0] as {
    Namespace?: unknown;
    Dimensions?: unknown;
    Metrics?: unknown;
  };
  if (typeof directive.Namespace !== 'string' || directive.Namespace === '') {
    throw new Error('Namespace must be a non-empty string');
  }
  if (!Array.isArray(directive.Dimensions) || directive.Dimensions.length === 0) {
    throw new Error('Dimensions must hold dimension sets');
  }
  const dimensions: Record<string, string> = {};
  for (const set of directive.Dimensions as unknown[]) {
    if (!Array.isArray(set) || set.length > 30) throw new Error('a dimension set is 1–30 names');
    for (const name of set) {
      const value = root[String(name)];
      if (typeof value !== 'string') throw new Error(`dimension ${name} is not a string member`);
      dimensions[String(name)] = value;
    }
  }
  if (!Array.isArray(directive.Metrics) || directive.Metrics.length > 100) {
    throw new Error('Metrics must hold at most 100 definitions');
  }
  const metrics: Record<string, number> = {};
  const units: Record<string, string | undefined> = {};
  for (const definition of directive.Metrics as { Name?: unknown; Unit?: unknown }[]) {
    const name = String(definition.Name);
    const value = root[name];
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || !values.every((item) => typeof item === 'number')) {
      throw new Error(`metric ${name} has no numeric member`);
    }
    metrics[name] = (values as number[]).reduce((sum, item) => sum + item, 0);
    units[name] = typeof definition.Unit === 'string' ? definition.Unit : undefined;
  }
  return { namespace: directive.Namespace, dimensions, metrics, units, root };
}
