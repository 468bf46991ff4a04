// Administration in the dashboard: an admin makes a key, posts with it and revokes it (then it
// gets 401); a viewer made in the UI sees no admin form, is refused by the server anyway and
// changes their own password; a signed-out visitor is offered no sign-out.
import { test, expect, Page } from '@playwright/test';
import { signIn, unique } from './helpers';

/** Signs `page` in as `username`, landing on `/`. */
async function signInAs(page: Page, username: string, password: string) {
  await page.goto('/login');
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
}

test('an admin creates a key, posts with it, revokes it, and the key then gets 401', async ({ page, request }) => {
  await signIn(page, '/access');
  const name = unique('e2e-key');
  await page.getByTestId('new-key-name').fill(name);
  await page.getByTestId('new-key-kind').selectOption('ingest');
  await page.getByTestId('new-key-submit').click();
  await expect(page.getByTestId('created-key')).toContainText(`Created ingest key \`${name}\``);
  const key = await page.getByTestId('created-key-value').inputValue();
  expect(key).toMatch(/^vigil_/);
  await page.getByTestId('copy-key').click();
  await expect(page.getByTestId('copy-key')).toHaveText(/Copied|Selected/);

  const post = async () =>
    (
      await request.post('/api/v1/events', {
        data: { event_type: 'auth.logout', username: name },
        headers: { Authorization: `Bearer ${key}` },
      })
    ).status();
  expect(await post()).toBe(201);

  const row = page.locator(`[data-testid="key-row"][data-name="${name}"]`);
  await expect(row).toContainText('active');
  const asked: string[] = [];
  page.once('dialog', (dialog) => {
    asked.push(dialog.message());
    void dialog.accept();
  });
  await row.getByTestId('revoke-key').click();
  await expect(page.getByTestId('key-action-done')).toHaveText(`Revoked key \`${name}\`.`);
  expect(asked[0]).toContain(`Revoke key \`${name}\`?`);
  await expect(row.getByTestId('revoke-key')).toHaveCount(0);
  await expect(row).not.toContainText('active');
  await expect.poll(post).toBe(401);

  // The audit trail covers its own administration.
  const audit = await page.request.get(`/api/v1/events?source=vigil&type=auth.api_key.revoked&limit=100`);
  expect(audit.status()).toBe(200);
  const revoked = (await audit.json()).events.filter((e: any) => e.api_key_name === name);
  expect(revoked).toHaveLength(1);
  expect(revoked[0].event_data).toEqual({ by: 'e2e', target: name });
});

test('a viewer sees no admin forms, is refused by the server, and changes their own password', async ({ page, browser }) => {
  await signIn(page, '/access');
  const username = unique('viewer');
  await page.getByTestId('new-operator-username').fill(username);
  await page.getByTestId('new-operator-role').selectOption('viewer');
  await page.getByTestId('new-operator-password').fill('viewer-password-1');
  await page.getByTestId('new-operator-submit').click();
  await expect(page.getByTestId('operator-action-done')).toHaveText(`Created viewer \`${username}\`.`);
  await expect(page.locator(`[data-testid="operator-row"][data-name="${username}"]`)).toContainText('viewer');

  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signInAs(viewer, username, 'viewer-password-1');
  await viewer.goto('/access');
  await expect(viewer.getByTestId('access-refused')).toBeVisible();
  for (const form of ['new-key-form', 'new-operator-form', 'revoke-key', 'disable-operator']) {
    await expect(viewer.getByTestId(form)).toHaveCount(0);
  }
  // What the admin's form would send, sent anyway: refused by the server.
  const refused = await viewer.request.post('/rpc/create_api_key', {
    form: { name: unique('sneaky'), kind: 'read' },
  });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain('only admins can create keys');

  await viewer.getByTestId('account-link').click();
  await expect(viewer).toHaveURL(/\/account$/);
  await expect(viewer.getByTestId('account-who')).toHaveText(`Signed in as ${username} (viewer).`);
  await viewer.getByTestId('current-password').fill('viewer-password-1');
  await viewer.getByTestId('new-password').fill('viewer-password-2');
  await viewer.getByTestId('confirm-password').fill('viewer-password-2');
  await viewer.getByTestId('change-password').click();
  await expect(viewer.getByTestId('password-changed')).toBeVisible();
  await expect(viewer.getByTestId('current-password')).toHaveValue('');

  await viewer.getByTestId('sign-out').click();
  await expect(viewer).toHaveURL(/\/login/);
  await expect(viewer.getByTestId('sign-out')).toHaveCount(0);
  await viewer.locator('input[name="username"]').fill(username);
  await viewer.locator('input[name="password"]').fill('viewer-password-1');
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await expect(viewer.getByTestId('login-failed')).toBeVisible();
  await signInAs(viewer, username, 'viewer-password-2');
  await context.close();
});

test('a signed-out visitor is offered no sign-out', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByTestId('sign-out')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByTestId('account-link')).toHaveCount(0);
});
