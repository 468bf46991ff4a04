// Shared by the specs: posting events the way a producer does, with the run's ingest key.
import { APIRequestContext, Page, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let cachedKey: string | undefined;

/** The run's data directory, relative to the repository root (see playwright.config.ts). */
export function dataDir(): string {
  const port = process.env.VIGIL_E2E_PORT;
  return port ? `target/e2e-data-${port}` : 'target/e2e-data';
}

/** The ingest key created for this run by the web server command (see playwright.config.ts). */
export function ingestKey(): string {
  cachedKey ??= readFileSync(join(__dirname, '..', '..', `${dataDir()}.key`), 'utf8').trim();
  return cachedKey;
}

/** Posts events and expects them stored (201). */
export async function postEvents(request: APIRequestContext, events: object | object[]) {
  const response = await request.post('/api/v1/events', {
    data: events,
    headers: { Authorization: `Bearer ${ingestKey()}` },
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).events as { id: string; seq: number; duplicate: boolean }[];
}

/** A value no other test or run will produce. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

/** Signs the page in as the run's operator, landing on `next`. */
export async function signIn(page: Page, next = '/') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.locator('input[name="username"]').fill('e2e');
  await page.locator('input[name="password"]').fill('e2e-operator-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/[?]/g, '\\?')}$`));
}
