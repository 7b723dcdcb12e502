import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A request header by name, case-insensitively (API Gateway REST keeps the caller's case). */
export function headerOf(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}
