/**
 * JSON checked without being built. A submission's `input` is forwarded as sent and never read
 * by the gateway but for `model`; parsing it would build every key of an object that, within the
 * 5 MiB body limit, can hold ~590 000 of them (≈ 10× the CPU of a plain body of that size, and
 * ≈ 60 MB more memory). This scanner checks the syntax in one pass, without recursion (so depth
 * costs no stack) and without allocating the values.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPABLE = new Set([34, 92, 47, 98, 102, 110, 114, 116]); // " \ / b f n r t
const HEX = /^[0-9a-fA-F]{4}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters end a run on purpose
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

function fail(at: number): never {
  throw new JsonSyntaxError(`Invalid JSON at position ${at}`);
}

export function skipWhitespace(text: string, index: number): number {
  let at = index;
  for (;;) {
    const code = text.charCodeAt(at);
    if (code !== 32 && code !== 9 && code !== 10 && code !== 13) return at;
    at++;
  }
}

/** The index just past the string that starts at `index` (its opening quote). */
export function endOfString(text: string, index: number): number {
  if (text.charCodeAt(index) !== 34) fail(index);
  let at = index + 1;
  for (;;) {
    // Plain characters in one native step: a 5 MB string is one regex run, not 5 M iterations.
    PLAIN_RUN.lastIndex = at;
    PLAIN_RUN.test(text);
    at = PLAIN_RUN.lastIndex;
    const code = text.charCodeAt(at);
    if (code === 34) return at + 1;
    if (Number.isNaN(code) || code < 0x20) fail(at);
    if (code === 92) {
      const escaped = text.charCodeAt(at + 1);
      if (escaped === 117) {
        if (!HEX.test(text.slice(at + 2, at + 6))) fail(at);
        at += 6;
      } else if (ESCAPABLE.has(escaped)) {
        at += 2;
      } else {
        fail(at);
      }
    } else {
      at++;
    }
  }
}

/** The index just past `"key":` at `index` (whitespace allowed around it). */
function endOfKey(text: string, index: number): number {
  const afterKey = skipWhitespace(text, endOfString(text, skipWhitespace(text, index)));
  if (text.charCodeAt(afterKey) !== 58) fail(afterKey);
  return afterKey + 1;
}

/** The index just past the one JSON value that starts at `index` (after whitespace). */
export function endOfValue(text: string, index: number): number {
  let at = index;
  // 0: inside an object, 1: inside an array.
  const open: (0 | 1)[] = [];
  for (;;) {
    at = skipWhitespace(text, at);
    const code = text.charCodeAt(at);
    if (code === 123 || code === 91) {
      const close = code === 123 ? 125 : 93;
      const next = skipWhitespace(text, at + 1);
      if (text.charCodeAt(next) === close) {
        at = next + 1;
      } else {
        open.push(code === 123 ? 0 : 1);
        at = code === 123 ? endOfKey(text, next) : next;
        continue;
      }
    } else if (code === 34) {
      at = endOfString(text, at);
    } else if (text.startsWith('true', at)) {
      at += 4;
    } else if (text.startsWith('false', at)) {
      at += 5;
    } else if (text.startsWith('null', at)) {
      at += 4;
    } else {
      NUMBER.lastIndex = at;
      if (!NUMBER.test(text)) fail(at);
      at = NUMBER.lastIndex;
    }
    // A value ended: close what it ends, or move on to the next member or element.
    for (;;) {
      const inside = open.at(-1);
      if (inside === undefined) return at;
      at = skipWhitespace(text, at);
      const code = text.charCodeAt(at);
      if (code === 44) {
        at = inside === 0 ? endOfKey(text, at + 1) : at + 1;
        break;
      }
      if ((inside === 0 && code === 125) || (inside === 1 && code === 93)) {
        open.pop();
        at++;
        continue;
      }
      fail(at);
    }
  }
}

/**
 * A submission body for validation: every top-level member parsed, except `input`, whose syntax
 * is checked and which stands in as an empty object carrying only its string `model`, if any.
 * Throws JsonSyntaxError on invalid JSON; a body that is not an object is parsed as is.
 */
export function submissionForValidation(text: string): unknown {
  const start = skipWhitespace(text, 0);
  if (text.charCodeAt(start) !== 123) return JSON.parse(text);
  const body: Record<string, unknown> = {};
  let at = skipWhitespace(text, start + 1);
  if (text.charCodeAt(at) === 125) return endsAt(text, at + 1, body);
  for (;;) {
    const keyEnd = endOfString(text, skipWhitespace(text, at));
    const key = JSON.parse(text.slice(skipWhitespace(text, at), keyEnd)) as string;
    const valueStart = skipWhitespace(text, endOfKey(text, at));
    const valueEnd = endOfValue(text, valueStart);
    body[key] =
      key === 'input' && text.charCodeAt(valueStart) === 123
        ? inputStandIn(text, valueStart)
        : JSON.parse(text.slice(valueStart, valueEnd));
    at = skipWhitespace(text, valueEnd);
    const code = text.charCodeAt(at);
    if (code === 125) return endsAt(text, at + 1, body);
    if (code !== 44) fail(at);
    at++;
  }
}

function endsAt(text: string, at: number, body: Record<string, unknown>): unknown {
  if (skipWhitespace(text, at) !== text.length) fail(at);
  return body;
}

/** `{}`, with `model` when `input`'s top level has a string `model` (routing reads it). */
function inputStandIn(text: string, start: number): Record<string, unknown> {
  const standIn: Record<string, unknown> = {};
  let at = skipWhitespace(text, start + 1);
  if (text.charCodeAt(at) === 125) return standIn;
  for (;;) {
    const keyStart = skipWhitespace(text, at);
    const keyEnd = endOfString(text, keyStart);
    const valueStart = skipWhitespace(text, endOfKey(text, at));
    const valueEnd = endOfValue(text, valueStart);
    if (
      keyEnd - keyStart === 7 &&
      text.startsWith('"model"', keyStart) &&
      text.charCodeAt(valueStart) === 34
    ) {
      standIn.model = JSON.parse(text.slice(valueStart, valueEnd));
    }
    at = skipWhitespace(text, valueEnd);
    if (text.charCodeAt(at) === 125) return standIn;
    at++;
  }
}
