// A flash outlives the page that started it: reloading the window mid-flash, or opening the app in
// a second tab, shows the flash under way (its image, drive and progress) with its Cancel, never
// the three steps with the drive looking free.

import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('reloading mid-flash shows the flash still under way, and its Cancel still works', async ({ app, loops, images }, testInfo) => {
  const drive = loops.create(64 * MiB);
  const imagePath = images.random('reload-me.img', 48 * MiB);
  loops.throttle(drive, 4_000_000); // ~12 s of writing

  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForProgress(5);

  await app.step('reload the window', async () => {
    await app.page.reload();
  });
  await app.step('the progress view is back, and the steps name the image and the drive', async () => {
    const progress = app.page.getByTestId('flash-progress');
    await expect(progress).toBeVisible({ timeout: 15_000 });
    await expect(progress).toHaveAttribute('data-phase', 'writing');
    await expect(app.page.getByTestId('image-summary')).toContainText('reload-me.img');
    await expect(app.page.getByTestId('target-summary')).toContainText(drive.path);
    await expect(app.page.getByRole('button', { name: 'Cancel', exact: true })).toBeVisible();
    await expect(app.page.getByRole('button', { name: 'Flash!', exact: true })).toHaveCount(0);
  });
  const before = await app.shownPercent();
  await app.step('and it keeps moving', async () => {
    await expect.poll(() => app.shownPercent(), { timeout: 30_000 }).toBeGreaterThan(before);
  });

  if (testInfo.project.name === 'browser') {
    await app.step('a second tab shows the same flash, not a free drive', async () => {
      const other = await app.page.context().newPage();
      try {
        await other.goto(app.page.url());
        await expect(other.getByTestId('flash-progress')).toBeVisible({ timeout: 15_000 });
        await expect(other.getByTestId('image-summary')).toContainText('reload-me.img');
        await expect(other.getByTestId('target-summary')).toContainText(drive.path);
      } finally {
        await other.close();
      }
    });
  }

  await app.cancel();
  await app.waitForCancelled();
  await test.step('writing really stopped: the end of the image never reached the drive', async () => {
    expect(readBacking(drive, 47 * MiB, MiB).every((b) => b === 0)).toBe(true);
  });
});

test('reloading on the result shows it again; once dismissed, a reload shows the three steps', async ({ app, loops, images }) => {
  const drive = loops.create(16 * MiB);
  const imagePath = images.random('quick.img', 4 * MiB);
  await app.selectImage(imagePath);
  await app.selectDrive(drive.path);
  await app.flash();
  await app.waitForSuccess();
  await app.step('reloading keeps the result on screen', async () => {
    await app.page.reload();
    await expect(app.page.getByRole('heading', { name: 'Flash complete!' })).toBeVisible({ timeout: 15_000 });
    await expect(app.page.getByTestId('flash-success')).toContainText('quick.img');
  });
  await app.step('"Flash another", then a reload: the three steps', async () => {
    await app.page.getByRole('button', { name: 'Flash another' }).click();
    await app.page.reload();
    await expect(app.page.getByRole('button', { name: 'Select image', exact: true })).toBeVisible({ timeout: 15_000 });
    await expect(app.page.getByRole('heading', { name: 'Flash complete!' })).toHaveCount(0);
  });
});
