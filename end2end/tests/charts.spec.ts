// Charts people can read: a time axis and a count scale, a tooltip under the pointer, drag to
// zoom the page's time range; and every timestamp in UTC or the browser's own zone.
import { test, expect, Page } from '@playwright/test';
import { postEvents, signIn, unique } from './helpers';

// A zone away from UTC, so "local" reads differently (India: +05:30, no daylight saving).
test.use({ timezoneId: 'Asia/Kolkata' });
const KOLKATA_MS = 5.5 * 3_600_000;
const HOUR_MS = 3_600_000;

/** `YYYY-MM-DD HH:MM:SS` of the instant `ms`, shifted by `offsetMs`: what the tables show. */
function tableTime(ms: number, offsetMs = 0): string {
  return new Date(ms + offsetMs).toISOString().replace('T', ' ').slice(0, 19);
}

/** The page has hydrated once its live table is connected. */
async function hydrated(page: Page) {
  await expect(page.getByTestId('live-status')).toHaveText('live');
}

test('the volume chart has axes and a tooltip, and a drag zooms the page to its range', async ({ page, request }) => {
  const tag = unique('chart');
  const now = Date.now();
  const event = (user: string, msAgo: number) => ({
    event_type: 'auth.login.failure', username: `${tag}-${user}`, reason: tag,
    occurred_at: new Date(now - msAgo).toISOString(),
  });
  await postEvents(request, [
    // One instant each, so no bucket boundary splits them.
    event('old', 20 * HOUR_MS), event('old', 20 * HOUR_MS), event('old', 20 * HOUR_MS),
    event('new', 2 * HOUR_MS), event('new', 2 * HOUR_MS),
  ]);
  const url = `/events?since=24h&q=${tag}`;
  await signIn(page, url);
  const rows = page.getByTestId('events').locator('tbody tr');
  await expect(rows).toHaveCount(5);

  // The axes are in the server's HTML: the chart reads without WebAssembly.
  const html = await (await page.request.get(url)).text();
  expect(html).toContain('class="x-tick');
  expect(html).toContain('class="y-tick"');
  expect(html).toMatch(/<rect [^>]*class="bar"/);

  const chart = page.getByTestId('volume-chart');
  const xTicks = chart.getByTestId('x-axis').locator('.x-tick');
  const tickCount = await xTicks.count();
  expect(tickCount).toBeGreaterThanOrEqual(4);
  expect(tickCount).toBeLessThanOrEqual(8);
  for (const label of await xTicks.allTextContents()) {
    expect(label).toMatch(/^(\d\d:\d\d|[A-Z][a-z]{2} \d\d)$/);
  }
  const yTicks = chart.getByTestId('y-axis').locator('.y-tick');
  await expect(yTicks.first()).toHaveText('0');
  expect(await yTicks.count()).toBeGreaterThanOrEqual(2);

  await hydrated(page);
  // Hovering the newest bar with events: the tooltip names its count.
  const bar = chart.locator('rect.bar:not([data-count="0"])').last();
  const count = await bar.getAttribute('data-count');
  await bar.hover();
  const tooltip = chart.getByTestId('chart-tooltip');
  await expect(tooltip).toBeVisible();
  await expect(tooltip.getByTestId("chart-tooltip-count")).toHaveText(count === "1" ? "1 event" : `${count} events`);
  await expect(tooltip).toContainText(/\d{4}-\d\d-\d\d \d\d:\d\d – [\d: -]+ UTC/);

  // Drag across the last quarter of the chart: the newer events only.
  const plot = await chart.getByTestId('chart-plot').boundingBox();
  if (!plot) throw new Error('the chart has no plot');
  const y = plot.y + plot.height / 2;
  await page.mouse.move(plot.x + plot.width * 0.75, y);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * 0.99, y, { steps: 5 });
  await expect(chart.getByTestId('chart-selection')).toBeVisible();
  await expect(tooltip).toContainText('release to zoom');
  await page.mouse.up();

  const rfc3339 = '\\d{4}-\\d\\d-\\d\\dT\\d\\d%3A\\d\\d%3A\\d\\dZ';
  await expect(page).toHaveURL(new RegExp(`[?&]since=${rfc3339}&until=${rfc3339}`));
  const zoomed = new URL(page.url());
  expect(zoomed.searchParams.get('q')).toBe(tag);
  const since = Date.parse(zoomed.searchParams.get('since')!);
  const until = Date.parse(zoomed.searchParams.get('until')!);
  expect(since).toBeGreaterThan(now - 8 * HOUR_MS);
  expect(since).toBeLessThan(now - 2 * HOUR_MS);
  expect(until).toBeGreaterThan(now - HOUR_MS);
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: `${tag}-old` })).toHaveCount(0);
  await expect(chart.locator('figcaption')).toContainText('· 2 in range');

  // A click on one bar zooms to that bucket.
  const newest = chart.locator('rect.bar:not([data-count="0"])').last();
  await newest.click();
  await expect(page).toHaveURL((u) => {
    const s = Date.parse(u.searchParams.get('since') ?? '');
    const e = Date.parse(u.searchParams.get('until') ?? '');
    return s > since && e - s < until - since;
  });
  await expect(rows).toHaveCount(2);
});

test('a UTC / local switch applies to every timestamp and is remembered', async ({ page, request }) => {
  const tag = unique('zone');
  // Whole seconds, an hour back: the table shows the time to the second.
  const at = Math.floor(Date.now() / 1_000) * 1_000 - HOUR_MS;
  await postEvents(request, {
    event_type: 'auth.login.failure', username: `${tag}-user`, reason: tag,
    occurred_at: new Date(at).toISOString(),
  });
  // The first browser render must be the server's (UTC); the stored choice applies after it.
  const hydrationErrors: string[] = [];
  page.on('console', (message) => {
    if (/hydrat/i.test(message.text())) hydrationErrors.push(message.text());
  });
  const url = `/events?q=${tag}`;
  await signIn(page, url);
  const table = page.getByTestId('events');
  const time = table.locator('tbody tr').first().locator('td.time time');
  const heading = table.locator('th').first();
  await expect(time).toHaveText(tableTime(at));
  await expect(heading).toHaveText('Time (UTC)');
  await hydrated(page);

  const zone = page.getByTestId('time-zone');
  await zone.getByRole('button', { name: 'Local' }).click();
  await expect(time).toHaveText(tableTime(at, KOLKATA_MS));
  await expect(heading).toHaveText('Time (local)');
  await expect(zone.getByRole('button', { name: 'Local' })).toHaveAttribute('aria-pressed', 'true');
  await expect(time).toHaveAttribute('datetime', new Date(at).toISOString().replace('.000Z', 'Z'));
  // The chart's axis and tooltip follow too.
  const bar = page.getByTestId('volume-chart').locator('rect.bar:not([data-count="0"])').last();
  await bar.hover();
  await expect(page.getByTestId('chart-tooltip')).toContainText(' local');

  // The server still renders UTC (it cannot know the zone); the browser switches after loading.
  const html = await (await page.request.get(url)).text();
  expect(html).toContain(tableTime(at));
  await page.reload();
  await expect(time).toHaveText(tableTime(at, KOLKATA_MS));
  await expect(heading).toHaveText('Time (local)');

  // The detail page: every field to the instant, with the local offset.
  await time.click();
  await expect(page).toHaveURL(/\/events\/[0-9a-f-]{36}$/);
  const local = new Date(at + KOLKATA_MS).toISOString().slice(0, 19);
  await expect(page.getByTestId('event-fields')).toContainText(`${local}+05:30`);

  await page.getByTestId('time-zone').getByRole('button', { name: 'UTC' }).click();
  await expect(page.getByTestId('event-fields')).toContainText(`${new Date(at).toISOString().slice(0, 19)}+00:00`);
  expect(hydrationErrors).toEqual([]);
});
