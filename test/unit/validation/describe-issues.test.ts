import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { describeIssues } from '../../../functions/validation/describe-issues.ts';

function messageOf(schema: z.ZodMiniType, value: unknown, root = ''): string {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) throw new Error('expected the value to be rejected');
  return describeIssues(result.error.issues, root);
}

describe('describeIssues', () => {
  it('prefixes the path with the root part of the request', () => {
    expect(messageOf(z.strictObject({ n: z.number() }), { n: 'x' }, 'query')).toBe(
      'query.n: must be a number',
    );
  });

  it('writes no prefix for an issue at the root without a root name', () => {
    expect(messageOf(z.number(), 'x')).toBe('must be a number');
  });

  it('tells a missing field apart from a field of the wrong type', () => {
    // Prepare
    const schema = z.strictObject({ a: z.string(), b: z.string() });

    // Act + Assess
    expect(messageOf(schema, { b: 1 })).toBe('a: is required; b: must be a string');
  });

  it('names an integer and a record in plain words', () => {
    expect(
      messageOf(z.strictObject({ n: z.int(), r: z.record(z.string(), z.unknown()) }), {
        n: 1.5,
        r: 1,
      }),
    ).toBe('n: must be an integer; r: must be an object');
  });

  it('describes string and array length bounds', () => {
    // Prepare
    const schema = z.strictObject({
      s: z.string().check(z.maxLength(2)),
      list: z.array(z.number()).check(z.minLength(2)),
    });

    // Act + Assess
    expect(messageOf(schema, { s: 'abc', list: [1] })).toBe(
      's: must have at most 2 characters; list: must have at least 2 items',
    );
  });

  it('describes exclusive numeric bounds', () => {
    expect(messageOf(z.number().check(z.positive()), 0)).toBe('must be > 0');
  });

  it('lists the allowed values of an enum', () => {
    expect(messageOf(z.enum(['a', 'b']), 'c')).toBe('must be one of "a", "b"');
  });

  it('describes a multiple-of check', () => {
    expect(messageOf(z.number().check(z.multipleOf(5)), 7)).toBe('must be a multiple of 5');
  });

  it('never puts the rejected value into the message', () => {
    // Prepare
    const secret = 'rpa_SHOULD_NOT_APPEAR';
    const schema = z.strictObject({
      a: z.number(),
      b: z.string().check(z.regex(/^x$/)),
      c: z.enum(['x']),
    });

    // Act
    const message = messageOf(schema, { a: secret, b: secret, c: secret });

    // Assess
    expect(message).not.toContain(secret);
  });

  it('reports at most five issues', () => {
    // Prepare
    const schema = z.array(z.number());

    // Act
    const message = messageOf(schema, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);

    // Assess
    expect(message.split('; ')).toEqual([
      '0: must be a number',
      '1: must be a number',
      '2: must be a number',
      '3: must be a number',
      '4: must be a number',
    ]);
  });
});
