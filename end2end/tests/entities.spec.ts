// Entity pages: a username in the explorer opens the user's page (its counts and addresses),
// an address there opens the IP's page (its users and neighbours), and the explorer pivot
// from there lists exactly that address's events.
import { test, expect } from '@playwright/test';
import { postEvents, signIn, unique } from './helpers';

/** An address in 198.18.0.0/15 (benchmarking, never a real host) no other run uses. */
function network(): string {
  return `198.${18 + Math.floor(Math.random() * 2)}.${Math.floor(Math.random() * 256)}`;
}

test('explorer → user page → IP page → explorer', async ({ page, request }) => {
  const tag = unique('ent');
  // `/`, `?`, `#` and unicode must survive the path segment both ways.
  const user = `${tag}/ä?b#c`;
  const net = network();
  const ip = `${net}.10`;
  const neighbour = `${net}.77`;
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
  await postEvents(request, [
    { event_type: 'auth.login.failure', username: user, ip_address: ip, reason: tag, occurred_at: at(9) },
    { event_type: 'auth.login.failure', username: user, ip_address: ip, reason: tag, occurred_at: at(8) },
    { event_type: 'auth.login.failure', username: user, ip_address: ip, reason: tag, occurred_at: at(7) },
    { event_type: 'auth.login.success', username: user, ip_address: ip, reason: tag, occurred_at: at(6) },
    { event_type: 'auth.login.failure', username: `${tag}-other`, ip_address: neighbour, occurred_at: at(5) },
  ]);
  await signIn(page, `/events?q=${tag}`);
  await expect(page.getByTestId('events').locator('tbody tr')).toHaveCount(4);
  // Hydrated (the stream is up): the links route in the app.
  await expect(page.getByTestId('live-status')).toHaveText('live');

  await page.getByTestId('events').getByRole('link', { name: user, exact: true }).first().click();
  await expect(page).toHaveURL(/\/users\/[^?]+$/);
  await expect(page.getByTestId('entity-name')).toHaveText(user);
  await expect(page.getByTestId('counted')).toHaveText('4');
  const failures = page.getByTestId('outcomes').locator('tr[data-type="auth.login.failure"]');
  await expect(failures.locator('td[data-result="failure"]')).toHaveText('3');
  await expect(page.getByTestId('outcomes').locator('tr[data-type="auth.login.success"] td[data-result="success"]'))
    .toHaveText('1');
  const address = page.getByTestId('related').locator(`tr[data-value="${ip}"]`);
  await expect(address.getByTestId('seen-count')).toHaveText('4');

  // The same page from the server (a reload): the path segment decodes to the same user.
  const userUrl = page.url();
  await page.goto(userUrl);
  await expect(page.getByTestId('entity-name')).toHaveText(user);
  await expect(page.getByTestId('related').getByRole('link', { name: ip, exact: true })).toBeVisible();

  await page.getByTestId('related').getByRole('link', { name: ip, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/ips/${ip.replace(/\./g, '\\.')}$`));
  await expect(page.getByTestId('entity-name')).toHaveText(ip);
  await expect(page.getByTestId('related').locator('tr').filter({ hasText: user })
    .getByTestId('seen-count')).toHaveText('4');
  await expect(page.getByTestId('neighbours').locator(`tr[data-value="${neighbour}"]`)
    .getByTestId('seen-count')).toHaveText('1');

  await page.getByTestId('open-in-explorer').click();
  await expect(page).toHaveURL(/\/events\?ip=.*since=7d/);
  await expect(page.getByTestId('events').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: `${tag}-other` })).toHaveCount(0);
});

test('an address that is not one says so', async ({ page }) => {
  await signIn(page, '/ips/not-an-address');
  await expect(page.getByTestId('entity-error')).toContainText('not an IP address');
});
