// Facets beside the tables: a value kept narrows the rows and the URL; a value left out removes
// its rows, shows as an exclusion, and comes back when that is dropped.
import { test, expect } from '@playwright/test';
import { postEvents, signIn, unique } from './helpers';

test('a facet value kept, then one left out, narrow the rows and the URL', async ({ page, request }) => {
  const tag = unique('facet');
  await postEvents(request, [
    { event_type: 'auth.login.failure', username: `${tag}-a`, ip_address: '10.88.0.1', reason: tag },
    { event_type: 'auth.login.failure', username: `${tag}-a`, ip_address: '10.88.0.2', reason: tag },
    { event_type: 'auth.login.success', username: `${tag}-b`, ip_address: '10.88.0.1', reason: tag },
  ]);
  await signIn(page, `/events?q=${tag}`);
  const rows = page.getByTestId('events').locator('tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(page.getByTestId('live-status')).toHaveText('live');
  const facets = page.getByTestId('facets');
  await expect(facets.getByTestId('facet-scope')).toHaveText('In all 3 matching events');

  // Keep one user: only their rows, and the URL says so.
  const users = facets.locator('[data-facet="username"]');
  await expect(users.locator('li').first()).toContainText(`${tag}-a`);
  await expect(users.locator('li').first().locator('.count')).toHaveText('2');
  await users.getByRole('link', { name: `${tag}-a`, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`user=${tag}-a`));
  await expect(rows).toHaveCount(2);

  // Leave out one address: its row goes, the exclusion shows, the URL carries `-ip=`.
  const addresses = facets.locator('[data-facet="ip_address"]');
  await addresses.locator('li', { hasText: '10.88.0.2' }).getByTitle('Leave this out').click();
  await expect(page).toHaveURL(/-ip=10\.88\.0\.2/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).not.toContainText('10.88.0.2');
  const chip = facets.getByTestId('exclusions').getByRole('link', { name: /-ip=10\.88\.0\.2/ });
  await expect(chip).toBeVisible();

  // Applying the filter form keeps the exclusion; dropping it brings the row back.
  await page.getByTestId('filters').getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/-ip=10\.88\.0\.2/);
  await expect(rows).toHaveCount(1);
  await chip.click();
  await expect(page).not.toHaveURL(/-ip=/);
  await expect(rows).toHaveCount(2);
});

test('-source=vigil hides Vigil\'s own sign-in events', async ({ page }) => {
  await signIn(page, '/events?source=vigil');
  const rows = page.getByTestId('events').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  await page.goto('/events?source=vigil&-source=vigil');
  await expect(page.getByTestId('no-events')).toBeVisible();
});
