import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayFixture, startGatewayFixture } from '../helpers/local-gateway-fixture.ts';

/** The API reference page `npm start` serves at /docs, rendered by a real headless Chromium. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let fixture: GatewayFixture;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (README, "Set-up") or set CHROMIUM_PATH`,
    );
  }
  fixture = await startGatewayFixture();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

describe('the API reference page', () => {
  it('renders every operation of the contract from the gateway alone, without errors', async () => {
    const document = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'),
    ) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item)).length;
    const page = await browser.newPage();
    const hosts = new Set<string>();
    const problems: string[] = [];
    page.on('request', (request) => hosts.add(new URL(request.url()).host));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    const response = await page.goto(`${fixture.gateway.url}/docs`);
    const title = await page.title();
    const sections = await page.locator('section.operation').count();
    const usageHeading = await page.locator('#op-usage h2').textContent();
    await page.locator('nav a[href="#op-openai-chat"]').click();
    const hash = new URL(page.url()).hash;
    const visible = await page.locator('#op-openai-chat').isVisible();
    const text = await page.locator('main').textContent();

    expect(response?.status()).toBe(200);
    expect(title).toMatch(/^RunPod jobs gateway .* API reference$/);
    expect(sections).toBe(operations);
    expect(usageHeading ?? '').toContain('/v1/usage');
    expect(hash).toBe('#op-openai-chat');
    expect(visible).toBe(true);
    expect(text ?? '').toContain('rate_limited');
    expect([...hosts]).toEqual([new URL(fixture.gateway.url).host]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
