// Alerts seen by a person: an attack posted over HTTP raises an alert that appears on /alerts and
// in the top bar of another page without a reload; the analyst opens it and acknowledges it.
import { test, expect, Page } from '@playwright/test';
import { postEvents, signIn, unique } from './helpers';

/** The top bar's open-alert count, as the page shows it now. */
async function openAlerts(page: Page): Promise<number> {
  return Number(await page.getByTestId('alerts-count').getAttribute('data-count'));
}

test('an attack raises an alert live on /alerts and in the top bar; acknowledging it shows', async ({
  page,
  context,
  request,
}) => {
  // Unique per run: the built-in `brute-force-ip` rule groups by address (8 failures in 120 s).
  // Other specs post from a few addresses below .100; these tests keep to .120 and up.
  const ip = `198.51.100.${120 + Math.floor(Math.random() * 100)}`;
  const tag = unique('brute');

  // Both pages open, hydrated and following alerts, before the attack.
  await signIn(page, '/');
  const count = page.getByTestId('alerts-count');
  await expect(count).toHaveAttribute('data-live', 'live');
  const before = await openAlerts(page);

  const alertsPage = await context.newPage();
  await alertsPage.goto('/alerts');
  await expect(alertsPage.getByTestId('live-status')).toHaveText('live');
  const ours = alertsPage.getByTestId('alert-row').filter({ hasText: `ip=${ip}` });
  await expect(ours).toHaveCount(0);

  const now = Date.now();
  await postEvents(
    request,
    Array.from({ length: 8 }, (_, n) => ({
      event_type: 'auth.login.failure',
      username: `${tag}-${n}`,
      ip_address: ip,
      reason: 'Invalid credentials',
      occurred_at: new Date(now - (8 - n) * 5_000).toISOString(),
    })),
  );

  // No reload: the alert stream brings it to both pages.
  await expect(ours).toHaveCount(1, { timeout: 20_000 });
  await expect(ours).toContainText('Brute force from one address');
  await expect(ours).toContainText('high');
  await expect(ours.getByTestId('alert-status')).toHaveText('open');
  await expect(ours.getByTestId('alert-count')).toHaveText('8');
  await expect.poll(() => openAlerts(page), { timeout: 20_000 }).toBeGreaterThan(before);
  await expect(count).toHaveClass(/worst-(high|critical)/);

  // Open it: the evidence is the attack's events, and the explorer link reproduces them.
  await ours.getByRole('link', { name: 'Brute force from one address' }).click();
  await expect(alertsPage).toHaveURL(/\/alerts\/\d+$/);
  await expect(alertsPage.getByTestId('alert-title')).toHaveText('Brute force from one address');
  await expect(alertsPage.getByTestId('alert-status')).toHaveText('open');
  await expect(alertsPage.getByTestId('events').locator('tbody tr', { hasText: tag })).toHaveCount(8);
  const explorer = alertsPage.getByTestId('open-in-explorer');
  await expect(explorer).toHaveAttribute('href', new RegExp(`^/events\\?.*ip=${ip.replace(/\./g, '\\.')}`));

  const note = `${tag}: blocked at the edge`;
  await alertsPage.getByTestId('alert-note').fill(note);
  await alertsPage.getByTestId('ack-button').click();
  await expect(alertsPage.getByTestId('alert-status')).toHaveText('acknowledged');
  await expect(alertsPage.getByTestId('alert-timeline')).toContainText(note);
  await expect(alertsPage.getByTestId('alert-timeline')).toContainText('acknowledged by e2e');
  await expect(alertsPage.getByTestId('ack-button')).toHaveCount(0);
  await expect(alertsPage.getByTestId('close-button')).toBeVisible();

  // Acknowledged is still not closed: the first page's count keeps it, and its row says so.
  await alertsPage.goBack();
  await expect(ours.getByTestId('alert-status')).toHaveText('acknowledged');
});

test('a note beyond the limit is refused with a clear message', async ({ page, request }) => {
  const ip = `198.51.100.${230 + Math.floor(Math.random() * 20)}`;
  const tag = unique('long-note');
  const now = Date.now();
  await postEvents(
    request,
    Array.from({ length: 8 }, (_, n) => ({
      event_type: 'auth.login.failure',
      username: `${tag}-${n}`,
      ip_address: ip,
      occurred_at: new Date(now - (8 - n) * 5_000).toISOString(),
    })),
  );
  await signIn(page, '/alerts');
  // Hydrated (the stream is up), so the buttons submit through the app and show its answer.
  await expect(page.getByTestId('live-status')).toHaveText('live');
  const ours = page.getByTestId('alert-row').filter({ hasText: `ip=${ip}` });
  await expect(ours).toHaveCount(1, { timeout: 20_000 });
  await ours.getByRole('link').first().click();
  await expect(page.getByTestId('alert-status')).toHaveText('open');
  // The textarea stops at the limit; a script that goes around it is refused by the server.
  const textarea = page.getByTestId('alert-note');
  await expect(textarea).toHaveAttribute('maxlength', '2000');
  await textarea.evaluate((el: HTMLTextAreaElement) => {
    el.removeAttribute('maxlength');
    el.value = 'x'.repeat(2001);
  });
  await page.getByTestId('close-button').click();
  await expect(page.getByTestId('status-error')).toHaveText(
    '`note`: at most 2000 characters (this one has 2001)',
  );
  await expect(page.getByTestId('alert-status')).toHaveText('open');
});
