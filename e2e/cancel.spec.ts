// Cancelling mid-flash: the drive is slowed to SD-card speed so there is time to cancel; the
// cancel asks first and ends in the cancelled view. This test also takes the README's screenshot.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';
import { serveFolder } from './support/image-server';
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

test('cancelling before anything is written says the drive is as it was, and it is', async ({ app, loops, images }) => {
  const drive = loops.create(32 * MiB, { fill: 'garbage' });
  images.random('late-os.img', 8 * MiB, 0x1a);
  // The server answers the flash's download (its second request for the image, after the one the
  // URL dialog makes) only after 30 s: the flash is still opening the image when Cancel is pressed,
  // and the cancel does not wait for it.
  const server = await serveFolder(images.dir, { holdFrom: 2, holdMs: 30_000 });
  try {
    await app.useUrl(server.url('late-os.img'), 'late-os.img');
    await app.selectDrive(drive.path);
    await app.flash();
    await app.cancel();
    await app.waitForCancelled();
    await app.step('the view says nothing was written, not that the drive will not boot', async () => {
      await expect(app.page.getByText('Nothing was written to the drive: it is as it was.')).toBeVisible();
      await expect(app.page.getByText('will not boot until it is flashed again')).toHaveCount(0);
    });
    await test.step('not one byte reached the drive', async () => {
      expect(drive.bytesWritten()).toBe(0);
    });
  } finally {
    await server.stop();
  }
});

test('cancelling while the drive is read back says the image was written completely but not verified', async ({ app, loops, images }) => {
  const drive = loops.create(48 * MiB, { fill: 'garbage' });
  const imagePath = images.random('verify-me.img', 32 * MiB, 0x2b);
  // Writing is quick; the readback crawls (about 16 s), leaving time to cancel it.
  loops.throttleReads(drive, 2_000_000);

  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForProgress(5, 'verifying');
  await app.cancel();
  await app.waitForCancelled();
  await app.step('the view says the image is all there, only unchecked, and how to check it', async () => {
    await expect(app.page.getByTestId('unverified')).toHaveText('The drive was written completely, but not verified: the check that reads it back was cancelled.');
    await expect(app.page.getByText('flash it again with “Verify after writing” on')).toBeVisible();
    await expect(app.page.locator('.result-advice code')).toHaveText(`blockwise verify ${imagePath} --against ${drive.path}`);
    await expect(app.page.getByText('incomplete')).toHaveCount(0);
    await expect(app.page.getByText('will not boot')).toHaveCount(0);
  });
  await test.step('and it is: the drive holds the whole image', async () => {
    const image = readFileSync(imagePath);
    expect(readBacking(drive, 0, image.length).equals(image)).toBe(true);
  });
});
