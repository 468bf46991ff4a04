// The dashboard under its Content-Security-Policy, and what a hostile page can do with a signed-in
// browser: nothing.
import { test, expect, Page } from '@playwright/test';
import { baseURL } from '../playwright.config';
import { postEvents, signIn, unique } from './helpers';

/** Records every CSP violation the page reports, from before its first script runs. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const logged: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) logged.push(message.text());
  });
  return async () => [...logged, ...(await page.evaluate(() => (window as any).__violations as string[]))];
}

test('the dashboard hydrates, goes live and charts under its CSP without a violation', async ({ page, request }) => {
  const violations = await watchViolations(page);
  const username = unique('csp-user');
  await signIn(page, '/');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await postEvents(request, { event_type: 'auth.login.failure', username, ip_address: '198.51.100.40' });
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: username })).toBeVisible();
  expect(await violations()).toEqual([]);

  // The explorer: charts, ranked lists with their bars, server functions.
  await page.goto(`/events?user=${encodeURIComponent(username)}`);
  await expect(page.getByTestId('events').locator('tbody tr', { hasText: username })).toBeVisible();
  expect(await violations()).toEqual([]);
});

test('a page on another origin can neither sign the browser in nor open its stream', async ({ page }) => {
  // Another port of the same host: same site, so the browser would send the session cookie.
  const evil = baseURL.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);
  await page.route(`${evil}/**`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>evil</title><script>
        window.__stream = new Promise((resolve) => {
          const ws = new WebSocket('${baseURL.replace('http', 'ws')}/api/v1/stream?after=0');
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        });
      </script>
      <form id="f" method="post" action="${baseURL}/auth/login">
        <input name="username" value="e2e"><input name="password" value="e2e-operator-password">
      </form>`,
    }),
  );

  await signIn(page, '/');
  await page.goto(`${evil}/`);
  expect(await page.evaluate(() => (window as any).__stream)).toBe('refused');

  // Login CSRF: the form posts the attacker's own credentials from the attacker's page.
  const [response] = await Promise.all([
    page.waitForResponse(`${baseURL}/auth/login`),
    page.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit()),
  ]);
  expect(response.status()).toBe(403);
});

test('the built assets are named by their hash and cached immutable; the page is not stored', async ({ page }) => {
  const assets: { url: string; cache: string | undefined }[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/pkg/')) {
      assets.push({ url: response.url(), cache: response.headers()['cache-control'] });
    }
  });
  const response = await page.goto('/login');
  expect(response?.headers()['cache-control']).toBe('no-store');
  // The wasm is preloaded beside the module, so either may answer first: wait for all three.
  const kinds = () => [...new Set(assets.map((a) => a.url.split('.').pop()))].sort();
  await expect.poll(kinds).toEqual(['css', 'js', 'wasm']);
  for (const asset of assets) {
    expect(asset.url).toMatch(/\/pkg\/vigil\.[A-Za-z0-9_-]{22}\.(js|wasm|css)$/);
    expect(asset.cache).toBe('public, max-age=31536000, immutable');
  }
});
