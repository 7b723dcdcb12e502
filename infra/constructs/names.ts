import type { Operation } from '../../functions/routes.ts';

/** `purge-queue` → `PurgeQueue`, for construct ids. */
export function pascalCase(operation: Operation): string {
  return operation
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
