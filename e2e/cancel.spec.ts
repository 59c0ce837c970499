// Cancelling mid-flash: the drive is slowed to SD-card speed so there is time to cancel; the
// cancel asks first and ends in the cancelled view. This test also takes the README's screenshot.

import * as path from 'node:path';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { ROOT } from './support/web-host';

const MiB = 1024 * 1024;

test('cancelling mid-flash asks first and ends in the cancelled view', async ({ app, loops, images }, testInfo) => {
  const drive = loops.create(128 * MiB);
  const imagePath = images.random('raspios-lite-demo.img', 96 * MiB);
  // About 25 s of writing: plenty of time to cancel on a slow, shared machine.
  loops.throttle(drive, 4_000_000);

  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForProgress(25);
  if (testInfo.project.name === 'browser') {
    await app.screenshot('mid-flash for the README', path.join(ROOT, 'assets/screenshot-flashing.png'));
  }

  await app.cancel();
  await app.waitForCancelled();
  await app.step('the view says what happened and what to do next', async () => {
    await expect(app.page.getByText('will not boot until it is flashed again')).toBeVisible();
    await expect(app.page.getByText('What to do next:')).toBeVisible();
  });

  await test.step('writing really stopped: the end of the image never reached the drive', async () => {
    const tail = readBacking(drive, 95 * MiB, MiB);
    expect(tail.every((b) => b === 0)).toBe(true);
  });

  await app.step('back to the three steps, ready to flash again', async () => {
    await app.page.getByRole('button', { name: 'Back', exact: true }).click();
    await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toBeEnabled();
  });
});
