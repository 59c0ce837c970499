// Several drives at once: one read of the image feeds every drive, each drive gets its own row
// while flashing and in the result, and each ends up holding the image.

import { readFileSync } from 'node:fs';
import { readBacking } from '../electron/test-support/loop-device';
import { expect, test } from './fixtures';

const MiB = 1024 * 1024;

test('two drives are flashed together, each with its own progress row and result', async ({ app, loops, images }) => {
  const first = loops.create(48 * MiB, { fill: 'garbage' });
  const second = loops.create(64 * MiB, { fill: 'garbage' });
  const imagePath = images.random('demo-os.img', 24 * MiB, 7);
  loops.throttle(first, 8_000_000);
  loops.throttle(second, 8_000_000);

  await app.selectImage(imagePath);
  await app.selectDrives([first.path, second.path]);
  await expect(app.page.getByTestId('target-summary')).toContainText('2 drives');
  await app.flash();
  await app.waitForProgress(5);
  await app.step('one progress row per drive', async () => {
    const rows = app.page.getByRole('list', { name: 'Drives' }).getByRole('listitem');
    await expect(rows).toHaveCount(2);
    await expect(app.page.getByRole('progressbar', { name: new RegExp(`^${first.path}:`) })).toBeVisible();
    await expect(app.page.getByRole('progressbar', { name: new RegExp(`^${second.path}:`) })).toBeVisible();
  });
  await app.waitForSuccess();

  await app.step('the result lists both drives as written and verified', async () => {
    const rows = app.page.getByTestId('flash-success').getByRole('list', { name: 'Drives' }).getByRole('listitem');
    await expect(rows).toHaveCount(2);
    await expect(rows.filter({ hasText: first.path })).toContainText('written and verified');
    await expect(rows.filter({ hasText: second.path })).toContainText('written and verified');
  });

  const image = readFileSync(imagePath);
  expect(readBacking(first, 0, image.length).equals(image)).toBe(true);
  expect(readBacking(second, 0, image.length).equals(image)).toBe(true);
});
