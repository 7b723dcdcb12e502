/**
 * The error `act` throws, checked to be of `type`; fails the test when `act` returns or
 * throws something else. Lets a test assert on an error's fields without casts.
 */
export function caught<E extends Error>(
  act: () => unknown,
  type: abstract new (...args: never[]) => E,
): E {
  let result: unknown;
  try {
    result = act();
  } catch (error) {
    return checked(error, type);
  }
  throw new Error(`expected ${type.name} to be thrown, but ${describe(result)} was returned`);
}

/** The error `promise` rejects with, checked to be of `type`. */
export async function rejected<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    return checked(error, type);
  }
  throw new Error(`expected a rejection with ${type.name}, but ${describe(result)} was resolved`);
}

function checked<E extends Error>(error: unknown, type: abstract new (...args: never[]) => E): E {
  if (error instanceof type) return error;
  throw new Error(`expected ${type.name}, got ${describe(error)}`, { cause: error });
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
