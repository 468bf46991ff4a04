// The dashboard's first load in Chromium over loopback: bytes on the wire and time until the
// live feed is live, with an empty cache and again with a warm one. Run by bench/first_load.sh.
//   node bench/first_load.mjs BASE_URL USERNAME PASSWORD [RUNS]
// With FIRST_LOAD_MBITS set (e.g. 10), Chromium emulates a link of that bandwidth and 20 ms RTT.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const [base, username, password, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

/** Loads `/` on a new page of `context`; returns [bytes received, ms until live, per-file]. */
async function load(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const mbits = Number(process.env.FIRST_LOAD_MBITS ?? 0);
  if (mbits > 0) {
    const bytesPerSecond = (mbits * 1e6) / 8;
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 20, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond,
    });
  }
  const urls = new Map();
  const files = {};
  let bytes = 0;
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    const name = new URL(urls.get(e.requestId) ?? base).pathname;
    files[name] = (files[name] ?? 0) + e.encodedDataLength;
  });
  const started = Date.now();
  await page.goto(`${base}/`);
  await page.getByTestId('live-status').filter({ hasText: /^live$/ }).waitFor({ timeout: 60_000 });
  const ms = Date.now() - started;
  await page.close();
  return [bytes, ms, files];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cold = [], warm = [];
let coldFiles, warmFiles;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const signIn = await context.request.post(`${base}/auth/login`, {
    form: { username, password, next: '/' },
    headers: { origin: base },
    maxRedirects: 0,
  });
  if (signIn.status() !== 303) throw new Error(`sign-in: ${signIn.status()}`);
  const first = await load(context);
  const second = await load(context);
  cold.push(first); warm.push(second);
  coldFiles = first[2]; warmFiles = second[2];
  await context.close();
}
await browser.close();
const report = (label, samples, files) => {
  console.log(`${label}: ${median(samples.map((s) => s[0]))} bytes, median ${median(samples.map((s) => s[1]))} ms ` +
    `(runs: ${samples.map((s) => s[1]).join(', ')} ms)`);
  for (const [name, size] of Object.entries(files)) console.log(`  ${name.padEnd(48)} ${size}`);
};
report('empty cache', cold, coldFiles);
report('warm cache ', warm, warmFiles);
