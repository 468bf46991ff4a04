// Investigating: filters live in the URL, narrow the rows, pivot, and lead to the detail page.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { postEvents, signIn, unique } from './helpers';

test('filter by IP narrows the rows and updates the URL; back returns', async ({ page, request }) => {
  const tag = unique('inv');
  await postEvents(request, [
    { event_type: 'auth.login.failure', username: `${tag}-a`, ip_address: '10.77.1.1', reason: tag },
    { event_type: 'auth.login.failure', username: `${tag}-b`, ip_address: '192.0.2.77', reason: tag },
  ]);
  await signIn(page, `/events?q=${tag}`);
  const rows = page.getByTestId('events').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  // The server's HTML shows the rows before the page hydrates, and hydrating sets every filter
  // input from the URL, over anything typed before it: wait until the live stream is up (the
  // page is hydrated by then).
  await expect(page.getByTestId('live-status')).toHaveText('live');

  await page.getByTestId('filters').locator('input[name="ip"]').fill('10.77.0.0/16');
  await page.getByTestId('filters').getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/ip=10\.77\.0\.0%2F16/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${tag}-a`);

  await page.goBack();
  await expect(rows).toHaveCount(2);
});

test('what the reader types while the page loads is kept when it hydrates', async ({ page }) => {
  await signIn(page, '/events');
  // Hold the app's WebAssembly until the reader has typed: the page is server-rendered only.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route) => {
    await released;
    await route.continue();
  });
  await page.goto('/events?user=somebody', { waitUntil: 'domcontentloaded' });
  const ip = page.getByTestId('filters').locator('input[name="ip"]');
  await ip.fill('10.77.0.0/16');
  await expect(page.getByTestId('live-status')).not.toHaveText('live');
  release();
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await expect(ip).toHaveValue('10.77.0.0/16');
  await expect(page.getByTestId('filters').locator('input[name="user"]')).toHaveValue('somebody');
});

test('a pivot link and the detail page', async ({ page, request }) => {
  const user = unique('pivot-user');
  await postEvents(request, [
    { event_type: 'auth.login.failure', username: user, ip_address: '203.0.113.9', reason: 'Invalid credentials' },
    { event_type: 'auth.mfa.challenge_success', username: user, ip_address: '203.0.113.9',
      event_data: { method: 'totp' } },
  ]);
  await signIn(page, '/failures');
  // The name opens the user's page; the "⌕" beside it pivots the explorer.
  await page.getByTestId('events').locator('tbody tr', { hasText: user }).first()
    .locator('td.user a.pivot').first().click();
  await expect(page).toHaveURL(new RegExp(`/events\\?user=${user}`));
  await expect(page.getByTestId('events').locator('tbody tr')).toHaveCount(2);

  await page.getByTestId('events').locator('tbody tr', { hasText: 'auth.mfa.challenge_success' })
    .locator('td.time a').click();
  await expect(page).toHaveURL(/\/events\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('event-fields')).toContainText(user);
  await expect(page.getByTestId('event-data')).toContainText('"method": "totp"');
  await expect(page.getByText('Same user, ±1 hour')).toBeVisible();
});

test('signed-out access redirects to sign-in, and a wrong password is refused', async ({ page }) => {
  await page.goto('/mfa');
  await expect(page).toHaveURL(/\/login\?next=%2Fmfa$/);
  // Nothing about the log is shown to a visitor who is not signed in, not even the chain's state.
  await expect(page.getByTestId('chain-status')).toHaveCount(0);
  const loginHtml = await (await page.request.get('/login?next=%2Fmfa')).text();
  expect(loginHtml).not.toContain('chain');
  // `next` is in the server's HTML, so signing in before the page hydrates still returns there.
  expect(loginHtml).toMatch(/name="next"[^>]*value="\/mfa"/);
  await page.locator('input[name="username"]').fill('e2e');
  await page.locator('input[name="password"]').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('login-failed')).toBeVisible();
  await signIn(page, '/mfa');
  await expect(page.getByRole('heading', { name: 'MFA changes' })).toBeVisible();
});

test('an export downloads every event of the current filter', async ({ page, request }) => {
  const tag = unique('export');
  await postEvents(request, [
    { event_type: 'auth.login.failure', username: `${tag}-a`, ip_address: '10.88.1.1', reason: tag },
    { event_type: 'auth.login.failure', username: `${tag}-b`, ip_address: '10.88.2.2', reason: tag },
    { event_type: 'auth.login.failure', username: `${tag}-c`, ip_address: '192.0.2.88', reason: tag },
  ]);
  await signIn(page, `/failures?q=${tag}&ip=10.88.0.0/16`);
  await expect(page.getByTestId('events').locator('tbody tr')).toHaveCount(2);
  const download = page.waitForEvent('download');
  await page.getByTestId('export-csv').click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toContain('event_type');
  expect(lines.slice(1).filter((line) => line.includes(tag))).toHaveLength(2);
  expect(csv).toContain(`${tag}-a`);
  expect(csv).toContain(`${tag}-b`);
  expect(csv).not.toContain(`${tag}-c`);
});

test('an admin sees every key and operator on the access page, never a secret', async ({ page }) => {
  await signIn(page, '/access');
  await expect(page.getByTestId('access-keys')).toContainText('e2e');
  await expect(page.getByTestId('access-keys')).toContainText('ingest');
  await expect(page.getByTestId('access-operators')).toContainText('admin');
  await expect(page.locator('main')).not.toContainText('vigil_');
});
