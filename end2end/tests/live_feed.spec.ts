// The walking skeleton seen by a person: an event posted over HTTP appears live, and stays.
import { test, expect } from '@playwright/test';

test('a posted event appears in the live feed without reload, and survives a reload', async ({ page, request }) => {
  const username = `e2e-user-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

  await page.goto('/');
  // Hydrated and subscribed: from here on, new events are pushed to this page.
  await expect(page.getByTestId('live-status')).toHaveText('live');

  const response = await request.post('/api/v1/events', {
    data: {
      event_type: 'auth.login.failure',
      username,
      ip_address: '198.51.100.23',
      reason: 'Invalid credentials',
    },
  });
  expect(response.status()).toBe(201);

  const row = page.getByTestId('events').locator('tbody tr', { hasText: username });
  await expect(row).toBeVisible();
  await expect(row).toContainText('auth.login.failure');
  await expect(row).toContainText('198.51.100.23');

  await page.reload();
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: username })).toBeVisible();
});

test('values from events are shown as text, never as HTML', async ({ page, request }) => {
  const hostile = `<img src=x onerror="window.__pwned=1">-${Date.now()}`;
  const response = await request.post('/api/v1/events', {
    data: { event_type: 'auth.login.failure', username: hostile, ip_address: '198.51.100.24' },
  });
  expect(response.status()).toBe(201);
  await page.goto('/');
  await expect(page.getByTestId('events').locator('td.user', { hasText: hostile })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
});
