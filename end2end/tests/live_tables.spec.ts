// Live tables as an analyst uses them: each view receives only its own events, new rows wait
// while the reader is reading, and a page outlives a server restart without missing anything.
import { test, expect, Page } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { dataDir, postEvents, signIn, unique } from './helpers';

const rows = (page: Page, text: string) => page.getByTestId('events').locator('tbody tr', { hasText: text });

test('a new event reaches the live feed, and the failures view only if it is a login failure', async ({ browser, request }) => {
  const context = await browser.newContext();
  const feed = await context.newPage();
  await signIn(feed, '/');
  const failures = await context.newPage();
  await failures.goto('/failures');
  await expect(feed.getByTestId('live-status')).toHaveText('live');
  await expect(failures.getByTestId('live-status')).toHaveText('live');

  const succeeded = unique('ok-user');
  const failed = unique('failed-user');
  await postEvents(request, [
    { event_type: 'auth.login.success', username: succeeded, ip_address: '198.51.100.40' },
    { event_type: 'auth.login.failure', username: failed, ip_address: '198.51.100.41' },
  ]);

  await expect(rows(feed, succeeded)).toBeVisible();
  await expect(rows(feed, failed)).toBeVisible();
  await expect(rows(failures, failed)).toBeVisible();
  // The success came first in the stream: had it been sent, it would be on the page by now.
  await expect(rows(failures, succeeded)).toHaveCount(0);
  await expect(rows(failures, failed)).toHaveClass(/arrived/);
  // The top bar speaks for the hash chain (the server's first walk comes a minute after start).
  await expect(feed.getByTestId('chain-status')).toHaveText(/^chain (not yet verified|verified .+)$/);
  await context.close();
});

test('new events are held and counted while the reader is scrolled down or paused', async ({ page, request }) => {
  // Enough rows that the feed can scroll.
  await postEvents(request, Array.from({ length: 60 }, (_, i) => ({ event_type: 'auth.logout', username: unique(`filler${i}`) })));
  await page.setViewportSize({ width: 1280, height: 600 });
  await signIn(page, '/');
  await expect(page.getByTestId('live-status')).toHaveText('live');

  await page.evaluate(() => window.scrollTo(0, 800));
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(200);
  const whileScrolled = unique('held-user');
  await postEvents(request, { event_type: 'auth.login.failure', username: whileScrolled });
  const held = page.getByTestId('held-events');
  await expect(held).toHaveText(/^\d+ new events?$/);
  await expect(rows(page, whileScrolled)).toHaveCount(0);
  await held.click();
  await expect(rows(page, whileScrolled)).toHaveCount(1);
  await expect(held).toHaveCount(0);

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('pause')).toHaveText('Resume');
  const whilePaused = unique('paused-user');
  await postEvents(request, { event_type: 'auth.mfa.enabled', username: whilePaused });
  await expect(held).toBeVisible();
  await expect(rows(page, whilePaused)).toHaveCount(0);
  await page.getByTestId('pause').click();
  await expect(rows(page, whilePaused)).toHaveCount(1);
});

test('time presets set the range and keep the other filters', async ({ page }) => {
  await signIn(page, '/events?user=somebody');
  await page.getByTestId('time-presets').getByRole('link', { name: '24 hours' }).click();
  await expect(page).toHaveURL(/\/events\?user=somebody&since=24h$/);
  await expect(page.getByTestId('time-presets').locator('a.active')).toHaveText('24 hours');
  await expect(page.locator('input[name="since"]')).toHaveValue('24h');
});

test('a row opens in place with every field, and holds new events while open', async ({ page, request }) => {
  const opened = unique('opened-user');
  await postEvents(request, { event_type: 'auth.password.changed', username: opened, event_data: { via: 'settings' } });
  await signIn(page, `/events?user=${opened}`);
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await rows(page, opened).locator('td.type').click();
  await expect(page.getByTestId('expanded-row')).toContainText('"via": "settings"');
  await postEvents(request, { event_type: 'auth.logout', username: opened });
  await expect(page.getByTestId('held-events')).toHaveText('1 new event');
});

/** A second `vigil serve` on the run's data directory (it shares the embedded cluster). */
function startSecondServer(port: number): ChildProcess {
  const root = join(__dirname, '..', '..');
  const binary = process.env.VIGIL_E2E_BINARY ?? 'target/debug/vigil';
  return spawn(join(root, binary), ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir()], {
    cwd: root,
    stdio: 'ignore',
  });
}

async function waitHealthy(url: string) {
  await expect
    .poll(async () => {
      try {
        return (await fetch(`${url}/healthz`)).status;
      } catch {
        return 0;
      }
    }, { timeout: 20_000 })
    .toBe(200);
}

test('after the server restarts, the page reconnects and shows what was posted meanwhile', async ({ page, request }) => {
  const port = 3400 + Math.floor(Math.random() * 15);
  const second = `http://127.0.0.1:${port}`;
  let server = startSecondServer(port);
  try {
    await waitHealthy(second);
    await signIn(page, '/'); // sessions live in the shared database: valid on both servers
    await page.goto(`${second}/failures`);
    await expect(page.getByTestId('live-status')).toHaveText('live');

    const stopped = new Promise((done) => server.once('exit', done));
    server.kill('SIGTERM');
    await stopped;
    await expect(page.getByTestId('live-status')).not.toHaveText('live');

    // Posted through the other server while this one is down.
    const meanwhile = unique('meanwhile-user');
    await postEvents(request, { event_type: 'auth.login.failure', username: meanwhile });

    server = startSecondServer(port);
    await waitHealthy(second);
    await expect(page.getByTestId('live-status')).toHaveText('live', { timeout: 20_000 });
    await expect(rows(page, meanwhile)).toBeVisible();
  } finally {
    server.kill('SIGTERM');
  }
});
