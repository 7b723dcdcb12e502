import { describe, expect, it } from 'vitest';
import {
  JsonSyntaxError,
  submissionForValidation,
} from '../../../functions/validation/json-scan.ts';

describe('submissionForValidation', () => {
  it('parses every member but input, which stands in as {} with its string model', () => {
    const text =
      '{"input":{"a":[1,2,{"b":"c\\u0041"}],"model":"llama-3-8b","n":null},"policy":{"ttl":10000},"webhook":"https://x"}';

    expect(submissionForValidation(text)).toEqual({
      input: { model: 'llama-3-8b' },
      policy: { ttl: 10000 },
      webhook: 'https://x',
    });
  });

  it.each([
    ['whitespace everywhere', ' { "input" : { "a" : [ ] , "b" : { } } } ', { input: {} }],
    ['an input that is not an object', '{"input":[1]}', { input: [1] }],
    ['a body that is not an object', '[1]', [1]],
    ['an empty object', '{}', {}],
    [
      'numbers, literals and escapes',
      '{"input":{"a":-1.5e-3,"b":true,"c":"\\n\\"\\\\"}}',
      { input: {} },
    ],
  ])('accepts %s as JSON.parse would', (_case, text, expected) => {
    expect(submissionForValidation(text)).toEqual(expected);
  });

  it.each([
    ['a missing value', '{"input":{"a":}}'],
    ['a trailing comma', '{"input":{"a":1,}}'],
    ['an unknown escape', '{"input":{"x":"\\q"}}'],
    ['a short unicode escape', '{"input":{"x":"\\u12"}}'],
    ['a raw control character', '{"input":{"x":"a\u0001b"}}'],
    ['text after the body', '{"input":{}} x'],
    ['a misspelled literal', '{"input":{"a":tru}}'],
    ['a leading zero', '{"input":{"a":-01}}'],
    ['an unclosed object', '{"input":{"a":1'],
    ['an unclosed string', '{"input":{"a":"b}}'],
  ])('refuses %s, as JSON.parse does', (_case, text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => submissionForValidation(text)).toThrow(JsonSyntaxError);
  });

  it('checks an input nested 100 000 levels deep without running out of stack', () => {
    const text = `{"input":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expect(submissionForValidation(text)).toEqual({ input: {} });
  });
});
