// The browser host restarted on the same port (`--port N`, Ctrl-C and run again) has a new token:
// the page still open with the old address can never get back in. It says so, and what to open,
// instead of "Reconnecting…" for ever; the address the new host printed works.

import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from './fixtures';
import { startWebHost, type RunningHost } from './support/web-host';

test('a page left open across a restart of its host says to open the new address', async ({ page }) => {
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-e2e-config-'));
  const env = { BLOCKWISE_INCLUDE_LOOP: '1', BLOCKWISE_CONFIG_DIR: configDir };
  const hosts: RunningHost[] = [];
  try {
    const first = await startWebHost(env);
    hosts.push(first);
    await page.goto(first.url);
    await expect(page.getByRole('button', { name: 'Select image', exact: true })).toBeEnabled();

    await test.step('the host stops: the page waits for it', async () => {
      await first.stop();
      await expect(page.getByText('Lost the connection to Blockwise. Reconnecting…')).toBeVisible();
      // Started again without --port, it listens elsewhere: the banner says where to look.
      await expect(page.getByText('Lost the connection to Blockwise. Reconnecting…')).toContainText('open the address it printed');
    });

    const second = await startWebHost(env, Number(new URL(first.url).port));
    hosts.push(second);
    await test.step('it is back with a new token: the page says waiting will not help, and what to open', async () => {
      await expect(page.getByTestId('connection-refused')).toBeVisible();
      await expect(page.getByTestId('connection-refused')).toContainText('Open the address it printed when it started');
      await expect(page.getByText('Reconnecting…')).toHaveCount(0);
      await page.screenshot({ path: test.info().outputPath('refused.png') });
    });

    await test.step('the new address works', async () => {
      await page.goto(second.url);
      await page.getByRole('button', { name: 'Select target', exact: true }).click();
      await expect(page.getByRole('dialog', { name: 'Select target' }).getByText(/drives? selected/)).toBeVisible();
      await expect(page.getByTestId('connection-refused')).toHaveCount(0);
    });
  } finally {
    for (const host of hosts) await host.stop();
    rmSync(configDir, { recursive: true, force: true });
  }
});
