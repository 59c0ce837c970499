// End-to-end tests: the real renderer, the real browser host, the real engine, real loop devices.
// Two projects run the same specs: 'browser' (Debian's Chromium against `npm run start:web`'s
// host) and 'electron' (Playwright's _electron; skipped with a reason where Electron's binary is
// missing). One worker: loop devices and the blkio throttle are machine-wide.

import { defineConfig } from '@playwright/test';
import type { ShellOptions } from './fixtures';

export default defineConfig<ShellOptions>({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: '../test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    headless: true,
    viewport: { width: 1100, height: 660 },
    colorScheme: 'light',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    trace: 'off',
  },
  projects: [
    { name: 'browser', use: { shell: 'browser', browserName: 'chromium' } },
    { name: 'electron', use: { shell: 'electron' } },
  ],
});
