import type { core } from 'zod/mini';

/**
 * zod/mini ships no locale (that is most of its size saving), so its messages are all
 * "Invalid input". This turns issues into short sentences a caller can act on.
 */
export function describeIssues(issues: readonly core.$ZodIssue[], root = ''): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${pathOf(root, issue.path)}${describe(issue)}`)
    .join('; ');
}

function pathOf(root: string, path: readonly PropertyKey[]): string {
  const parts = [root, ...path.map(String)].filter((part) => part !== '');
  return parts.length > 0 ? `${parts.join('.')}: ` : '';
}

function describe(issue: core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // Schemas are parsed with `reportInput: true` so that a missing field can be told
      // apart from a wrong one; the input itself is never put into the message.
      return issue.input === undefined
        ? 'is required'
        : `must be ${article(EXPECTED_NAMES[issue.expected] ?? issue.expected)}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `must have at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `must have at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'regex'
        ? 'has an invalid format'
        : `must be a valid ${issue.format === 'url' ? 'https URL' : issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return issue.message === 'Invalid input' ? 'is invalid' : issue.message;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

const EXPECTED_NAMES: Record<string, string> = { int: 'integer', record: 'object' };
