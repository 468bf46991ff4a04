// Playwright drives Debian's Chromium (never a downloaded browser) against a real vigil started
// from the repository root on its own embedded database.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.VIGIL_E2E_PORT ?? 3417);
const binary = process.env.VIGIL_E2E_BINARY ?? 'target/debug/vigil';
export const baseURL = `http://127.0.0.1:${port}`;
// Its own data directory and key file per port, so two runs on one machine never share one.
const data = process.env.VIGIL_E2E_PORT ? `target/e2e-data-${port}` : 'target/e2e-data';
/** The operator the tests sign in as (created by the web server command below). */
export const operatorPassword = 'e2e-operator-password';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    // A fresh data directory each run: the embedded cluster is created, used, and stopped. The
    // tests post with an ingest key made the way an operator would, read from the key file beside the data directory.
    command:
      `rm -rf ${data} && ${binary} keys create --name e2e --data-dir ${data} > ${data}.key` +
      ` && echo '${operatorPassword}' | ${binary} users create --username e2e --role admin --data-dir ${data}` +
      ` && exec ${binary} serve --addr 127.0.0.1:${port} --data-dir ${data}`,
    cwd: '..',
    url: `${baseURL}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15_000 },
  },
});
