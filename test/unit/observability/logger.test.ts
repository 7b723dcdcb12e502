import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../../functions/observability/logger.ts';

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'test-service',
    write: (line) => lines.push(line),
    ...options,
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('logger', () => {
  it('writes one JSON object per line, standard keys first, then the named fields', () => {
    const { logger, lines, records } = capture({
      traceHeader: () =>
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    });
    logger.info('request completed', { requestId: 'r-1', status: 200, jobId: undefined });

    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const [record] = records();
    expect(Object.keys(record ?? {})).toEqual([
      'level',
      'message',
      'timestamp',
      'service',
      'xray_trace_id',
      'requestId',
      'status',
    ]);
    expect(record).toMatchObject({
      level: 'INFO',
      message: 'request completed',
      service: 'test-service',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      requestId: 'r-1',
      status: 200,
    });
    expect(new Date(String(record?.timestamp)).toISOString()).toBe(record?.timestamp);
  });

  it('leaves the trace id out when there is no trace header', () => {
    const { logger, records } = capture();
    logger.warn('no trace');
    expect(records()[0]).not.toHaveProperty('xray_trace_id');
  });

  it('writes errors with name, message, stack and cause', () => {
    const { logger, records } = capture();
    const cause = new TypeError('socket hang up');
    logger.error('request failed', { error: new Error('upstream failed', { cause }) });

    const error = records()[0]?.error as Record<string, unknown>;
    expect(error).toMatchObject({ name: 'Error', message: 'upstream failed' });
    expect(String(error.stack)).toContain('upstream failed');
    expect(error.cause).toMatchObject({ name: 'TypeError', message: 'socket hang up' });
  });

  it('writes a cause that is not an Error as text', () => {
    const { logger, records } = capture();
    logger.error('failed', { error: new Error('outer', { cause: { code: 42 } }) });
    const error = records()[0]?.error as { cause?: unknown } | undefined;
    expect(error?.cause).toBe('[object Object]');
  });

  it.each([
    ['DEBUG', ['DEBUG', 'INFO', 'WARN', 'ERROR']],
    ['INFO', ['INFO', 'WARN', 'ERROR']],
    ['warn', ['WARN', 'ERROR']],
    ['ERROR', ['ERROR']],
    ['SILENT', []],
    [undefined, ['INFO', 'WARN', 'ERROR']],
    ['LOUD', ['INFO', 'WARN', 'ERROR']],
  ])('LOG_LEVEL=%s writes %j', (level, written) => {
    const { logger, records } = capture({ level });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(records().map((record) => record.level)).toEqual(written);
  });

  it('lets a stricter Lambda application log level win, and ignores a looser one', () => {
    expect(capture({ level: 'DEBUG', lambdaLevel: 'WARN' }).logger.level).toBe('WARN');
    expect(capture({ level: 'ERROR', lambdaLevel: 'TRACE' }).logger.level).toBe('ERROR');
    expect(capture({ level: 'INFO', lambdaLevel: 'FATAL' }).logger.level).toBe('ERROR');
  });
});
