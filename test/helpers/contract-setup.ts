import { checkResponse } from './contract.ts';

/**
 * Every `fetch` a test makes (the SDKs' included) has its gateway responses checked against the
 * OpenAPI contract before the test sees them; a violation rejects the fetch, failing the test.
 */
const originalFetch = globalThis.fetch;

globalThis.fetch = async (input, init) => {
  const response = await originalFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const contentType = response.headers.get('content-type') ?? undefined;
  let json: unknown;
  if (contentType?.includes('json')) {
    try {
      json = JSON.parse(await response.clone().text());
    } catch {
      json = undefined;
    }
  }
  checkResponse({ method, url, status: response.status, contentType, json });
  return response;
};
