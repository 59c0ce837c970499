// Settings are kept by the host and change what a flash does: with "Verify after writing" off
// the success view says the readback was skipped. Also: every control has a name, in light and
// dark alike.

import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

async function expectEveryControlNamed(page: Page): Promise<void> {
  const controls = page.locator('button, input, select, textarea, [role="switch"], [role="progressbar"]');
  const count = await controls.count();
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < count; i++) {
    const control = controls.nth(i);
    if (!(await control.isVisible())) continue;
    await expect(control, `control #${i} needs an accessible name`).toHaveAccessibleName(/\S/);
  }
}

test('verification can be turned off, the host remembers it, and the result says so', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB);
  const imagePath = images.random('demo-os.img', 8 * MiB, 99);
  const page = app.page;

  await app.step('every control on the main screen has a name', async () => {
    await expectEveryControlNamed(page);
  });

  await app.step('turn off "Verify after writing" in dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await expect(dialog).toBeVisible();
    await expectEveryControlNamed(page);
    await dialog.getByRole('switch', { name: 'Verify after writing' }).uncheck();
    await expect(dialog.getByRole('switch', { name: 'Verify after writing' })).not.toBeChecked();
  });

  await app.step('after a reload the host still has it off', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.reload();
    await page.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await expect(dialog.getByRole('switch', { name: 'Verify after writing' })).not.toBeChecked();
    await expect(dialog.getByRole('switch', { name: 'Write every byte' })).not.toBeChecked();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toBeHidden();
  });

  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.step('every control in the target list has a name', async () => {
    await app.openTargets();
    await expectEveryControlNamed(page);
    await app.closeTargets();
  });
  await app.step('the Flash step promises no readback, since verification is off', async () => {
    const hint = page.getByRole('region', { name: 'Flash' }).locator('.step-hint');
    await expect(hint).toHaveText('Writes only the blocks the image uses. It will not be read back to check it: verification is off in Settings.');
    await expect(hint).not.toContainText('then reads the drive back');
  });
  await app.flash();
  await app.waitForSuccess();
  await app.step('the result says verification was skipped, and the bytes are right anyway', async () => {
    await expect(page.getByTestId('verify-result')).toHaveText('Skipped (turned off in Settings)');
    const image = readFileSync(imagePath);
    expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
  });
});
