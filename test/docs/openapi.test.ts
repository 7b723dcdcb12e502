import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../functions/http/error-codes.ts';
import { USAGE_COUNT_FIELDS } from '../../functions/ledger/usage-report.ts';
import { ROUTES, resourcePathOf } from '../../functions/routes.ts';
import { openApiText } from '../../scripts/openapi.ts';
import { ContractViolation, checkResponse } from '../helpers/contract.ts';
import { type GatewayFixture, startGatewayFixture } from '../helpers/local-gateway-fixture.ts';

const FILE = join(import.meta.dirname, '..', '..', 'docs', 'openapi.json');

describe('the OpenAPI contract', () => {
  let fixture: GatewayFixture;

  beforeAll(async () => {
    fixture = await startGatewayFixture();
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('is current: docs/openapi.json is what `npm run openapi` writes', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(openApiText());
  });

  it('is a valid OpenAPI 3.1 document covering every route, method and error code', async () => {
    const document = JSON.parse(readFileSync(FILE, 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };

    const validated = (await SwaggerParser.validate(
      structuredClone(document) as unknown as Parameters<typeof SwaggerParser.validate>[0],
    )) as unknown as { openapi: string };

    expect(validated.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      for (const method of route.methods) {
        expect(document.paths[resourcePathOf(route)]?.[method.toLowerCase()]).toBeDefined();
      }
    }
    const text = JSON.stringify(document);
    for (const code of Object.keys(ERROR_CODES)) expect(text).toContain(`"${code}"`);
  });

  it('is served at GET /v1/openapi.json without a key', async () => {
    const response = await fetch(`${fixture.gateway.url}/v1/openapi.json`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual(JSON.parse(readFileSync(FILE, 'utf8')));
  });

  it('holds responses to it: an undocumented status, media type or body shape is refused', () => {
    const usage = (status: number, contentType: string, json: unknown) => () =>
      checkResponse({ method: 'GET', url: 'http://gw/v1/usage', status, contentType, json });
    const fine = {
      from: '2026-12-01',
      to: '2026-12-06',
      rows: [],
      totals: Object.fromEntries(USAGE_COUNT_FIELDS.map((field) => [field, 0])),
    };

    expect(usage(200, 'application/json', fine)).not.toThrow();
    expect(usage(200, 'application/json', { ...fine, rows: undefined })).toThrow(ContractViolation);
    expect(usage(418, 'application/json', fine)).toThrow(/status not documented/);
    expect(usage(200, 'text/html', fine)).toThrow(/media type text\/html not documented/);
    expect(usage(401, 'application/problem+json', { code: 'unauthorized' })).toThrow(
      /does not match/,
    );
  });
});
