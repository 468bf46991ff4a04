// The walking skeleton seen by a person: an event posted over HTTP appears live, and stays.
import { test, expect } from '@playwright/test';
import { postEvents, signIn, unique } from './helpers';

test('a posted event appears in the live feed without reload, and survives a reload', async ({ page, request }) => {
  const username = unique('e2e-user');

  await signIn(page, '/');
  // Hydrated and subscribed: from here on, new events are pushed to this page.
  await expect(page.getByTestId('live-status')).toHaveText('live');

  await postEvents(request, {
    event_type: 'auth.login.failure',
    username,
    ip_address: '198.51.100.23',
    reason: 'Invalid credentials',
  });

  const row = page.getByTestId('events').locator('tbody tr', { hasText: username });
  await expect(row).toBeVisible();
  await expect(row).toContainText('auth.login.failure');
  await expect(row).toContainText('198.51.100.23');

  await page.reload();
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: username })).toBeVisible();
});

test('values from events are shown as text, never as HTML', async ({ page, request }) => {
  const hostile = `<img src=x onerror="window.__pwned=1">${unique('')}`;
  await postEvents(request, { event_type: 'auth.login.failure', username: hostile, ip_address: '198.51.100.24' });
  await signIn(page, '/');
  await expect(page.getByTestId('events').locator('td.user', { hasText: hostile })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
});

test('a refused post changes nothing on the page', async ({ page, request }) => {
  const username = unique('never-stored');
  const response = await request.post('/api/v1/events', {
    data: { event_type: 'auth.logout', username },
    headers: { Authorization: 'Bearer vigil_wrong' },
  });
  expect(response.status()).toBe(401);
  await signIn(page, '/');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: username })).toHaveCount(0);
});
